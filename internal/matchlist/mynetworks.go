package matchlist

import (
	"net"
	"net/netip"
)

// NetworksFromStyle computes mynetworks when main.cf does not set it, from
// mynetworks_style: "host" (each of this machine's addresses), "subnet"
// (the subnets of its interfaces) or "class" (their whole class A/B/C
// networks, as Postfix did long ago; IPv6 subnets are used as they are).
func NetworksFromStyle(style string) []string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return []string{"127.0.0.0/8", "[::1]/128"}
	}
	seen := make(map[string]bool)
	var out []string
	add := func(p netip.Prefix) {
		s := p.Masked().String()
		if p.Addr().Is6() {
			s = "[" + p.Masked().Addr().String() + "]/" + itoa(p.Bits())
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipn.IP)
		if !ok {
			continue
		}
		ip = ip.Unmap()
		ones, _ := ipn.Mask.Size()
		if ip.Is4() && len(ipn.Mask) == 16 {
			ones -= 96
		}
		switch style {
		case "subnet":
			add(netip.PrefixFrom(ip, ones))
		case "class":
			if ip.Is4() {
				b := ip.As4()[0]
				bits := 24
				switch {
				case b < 128:
					bits = 8
				case b < 192:
					bits = 16
				}
				add(netip.PrefixFrom(ip, bits))
			} else {
				add(netip.PrefixFrom(ip, ones))
			}
		default:
			add(netip.PrefixFrom(ip, ip.BitLen()))
		}
	}
	// Loopback is always ours, whatever the interfaces say.
	add(netip.MustParsePrefix("127.0.0.0/8"))
	return out
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [4]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}
