package config

// Defaults that depend on the machine or on other parameters. None of them
// touches the network: myhostname comes from the kernel's host name, and
// mynetworks from the addresses of the local interfaces.

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/postern-mta/postern/internal/version"
)

// dynamicDefaults compute a default when the parameter is not set. They
// run inside an expansion so that a loop through them is found.
var dynamicDefaults map[string]func(e *expander) (string, error)

func init() {
	dynamicDefaults = map[string]func(e *expander) (string, error){
		"myhostname":       func(*expander) (string, error) { return systemHostname(), nil },
		"mydomain":         defaultMydomain,
		"mynetworks":       defaultMynetworks,
		"config_directory": func(e *expander) (string, error) { return e.c.dir, nil },
		"mail_version":     func(*expander) (string, error) { return version.Version, nil },
		"process_id":       func(*expander) (string, error) { return strconv.Itoa(os.Getpid()), nil },
		"process_name":     func(*expander) (string, error) { return filepath.Base(os.Args[0]), nil },
	}
}

// systemHostname is the kernel's host name, with ".localdomain" added when
// it has no dot, as Postfix does.
var systemHostname = sync.OnceValue(func() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		h = "localhost"
	}
	if !strings.Contains(h, ".") {
		h += ".localdomain"
	}
	return h
})

// defaultMydomain is $myhostname without its first label, or "localdomain"
// when that leaves fewer than two labels.
func defaultMydomain(e *expander) (string, error) {
	h, err := e.name("myhostname")
	if err != nil {
		return "", err
	}
	return domainOf(h), nil
}

func domainOf(host string) string {
	_, rest, ok := strings.Cut(host, ".")
	if !ok || !strings.Contains(rest, ".") {
		return "localdomain"
	}
	return rest
}

// localAddrs are the addresses of the local interfaces with their masks.
var localAddrs = sync.OnceValue(func() []*net.IPNet {
	addrs, err := net.InterfaceAddrs()
	var out []*net.IPNet
	if err == nil {
		for _, a := range addrs {
			if n, ok := a.(*net.IPNet); ok {
				out = append(out, n)
			}
		}
	}
	if len(out) == 0 {
		out = []*net.IPNet{
			{IP: net.IPv4(127, 0, 0, 1).To4(), Mask: net.CIDRMask(8, 32)},
			{IP: net.IPv6loopback, Mask: net.CIDRMask(128, 128)},
		}
	}
	return out
})

// defaultMynetworks lists the networks of mynetworks_style: "host" (each
// local address), "subnet" (each local address's subnet) or "class" (the
// class A/B/C network of each IPv4 address), limited to inet_protocols.
func defaultMynetworks(e *expander) (string, error) {
	style, err := e.name("mynetworks_style")
	if err != nil {
		return "", err
	}
	protos, err := e.name("inet_protocols")
	if err != nil {
		return "", err
	}
	return networks(localAddrs(), strings.ToLower(strings.TrimSpace(style)), protos), nil
}

func networks(addrs []*net.IPNet, style, protos string) string {
	v4, v6 := true, true
	if p := strings.ToLower(protos); p != "all" && p != "" {
		v4 = strings.Contains(p, "ipv4")
		v6 = strings.Contains(p, "ipv6")
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range addrs {
		ip4 := a.IP.To4()
		if ip4 != nil && !v4 || ip4 == nil && !v6 {
			continue
		}
		ip, bits := a.IP, 128
		if ip4 != nil {
			ip, bits = ip4, 32
		}
		ones, _ := a.Mask.Size()
		if ip4 != nil && len(a.Mask) == net.IPv6len {
			ones -= 96
		}
		switch style {
		case "subnet":
		case "class":
			if ip4 != nil {
				switch {
				case ip4[0] < 128:
					ones = 8
				case ip4[0] < 192:
					ones = 16
				case ip4[0] < 224:
					ones = 24
				default:
					ones = 32
				}
			}
		default: // host
			ones = bits
		}
		masked := ip.Mask(net.CIDRMask(ones, bits)).String()
		s := masked + "/" + strconv.Itoa(ones)
		if ip4 == nil {
			s = "[" + masked + "]/" + strconv.Itoa(ones)
		}
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}
