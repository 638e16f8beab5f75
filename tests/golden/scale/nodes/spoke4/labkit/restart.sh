for p in /run/frr/*.pid /run/charon.pid /run/keepalived.pid /run/vrrp.pid; do [ -f "$p" ] && read -r pid < "$p" && kill -9 "$pid" 2>/dev/null; done; true; sleep 0.2; rm -rf /run/frr /run/charon.* /run/*.log /run/*.out /run/*.pid
printf 'link del %s\n' gre1 lan0 br0 | ip -force -batch - 2>/dev/null
links=$(ip -o link show | while read -r _ name _; do name=${name%:}; name=${name%@*}; [ "$name" = lo ] || echo "$name"; done)
for l in $links; do echo "addr flush dev $l"; done | ip -force -batch -
ip route flush table main  # not in a batch: `ip -batch` fails to flush a table ("Failed to send flush request")
printf '%s\n' "xfrm state flush" "xfrm policy flush" | ip -force -batch -
printf '*%s\n-F\nCOMMIT\n' filter mangle nat | iptables-restore --noflush
for l in $links; do echo "link set $l up"; done | ip -force -batch -
sh /etc/labkit/start.sh
