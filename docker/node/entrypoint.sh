#!/bin/sh
# Entrypoint of a labkit node container: wait until containerlab has attached every data link
# (CLAB_INTFS of them, eth1..ethN), run the node's start script, then stay up.
set -eu
wanted=${CLAB_INTFS:-0}
n=0
while [ "$(ls /sys/class/net | grep -c '^eth[1-9]')" -lt "$wanted" ]; do
  n=$((n + 1)); [ "$n" -le 600 ] || { echo "labkit-node: only $(ls /sys/class/net | grep -c '^eth[1-9]') of $wanted links after 60 s"; exit 1; }
  sleep 0.1
done
sh /etc/labkit/start.sh
exec sleep infinity
