"""The lab's stand-in for a router: FRR (zebra, bgpd, nhrpd, bfdd, ospfd, ldpd) and strongSwan on Linux."""
