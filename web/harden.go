package web

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"

	"hotline"
)

// harden is in front of every route: the Host allow-list (DNS rebinding
// cannot reach the API from a browser), the security headers, and the
// client address, read through the trusted proxies.
func (s *Server) harden(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if !s.hostAllowed(r.Host) {
			writeError(w, r, s.log, hotline.Errorf(hotline.KindForbidden, "web", "host %q is not served here (http.allowed_hosts)", hostOnly(r.Host)))
			return
		}
		addr, secure := s.client(r)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), clientKey{}, clientInfo{addr: addr, secure: secure})))
	})
}

func hostOnly(hostport string) string {
	if host, _, err := net.SplitHostPort(hostport); err == nil {
		return host
	}
	return strings.Trim(hostport, "[]")
}

func (s *Server) hostAllowed(hostport string) bool {
	host := strings.ToLower(strings.TrimSuffix(hostOnly(hostport), "."))
	return slices.ContainsFunc(s.cfg.AllowedHosts, func(h string) bool { return strings.EqualFold(strings.Trim(h, "[]"), host) })
}

type clientKey struct{}

type clientInfo struct {
	addr   string
	secure bool // the client reached us over TLS (directly or at a trusted proxy)
}

// ClientAddress is the client's address as the server sees it: the
// connection's, or through trusted proxies the last address in
// X-Forwarded-For that is not one of them.
func ClientAddress(r *http.Request) string {
	if c, ok := r.Context().Value(clientKey{}).(clientInfo); ok {
		return c.addr
	}
	return hostOnly(r.RemoteAddr)
}

func secureRequest(r *http.Request) bool {
	c, _ := r.Context().Value(clientKey{}).(clientInfo)
	return c.secure || r.TLS != nil
}

func (s *Server) client(r *http.Request) (string, bool) {
	addr := hostOnly(r.RemoteAddr)
	secure := r.TLS != nil
	if !inNets(s.proxies, addr) {
		return addr, secure
	}
	if proto := r.Header.Get("X-Forwarded-Proto"); proto != "" {
		secure = strings.EqualFold(strings.TrimSpace(proto), "https")
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		for part := range strings.SplitSeq(v, ",") {
			hops = append(hops, strings.TrimSpace(part))
		}
	}
	for i := len(hops) - 1; i >= 0; i-- {
		if hops[i] == "" {
			continue
		}
		if !inNets(s.proxies, hops[i]) {
			return hops[i], secure
		}
		addr = hops[i]
	}
	return addr, secure
}

// parseNets reads addresses ("10.0.0.7", "::1") and CIDR ranges.
func parseNets(list []string) ([]*net.IPNet, error) {
	out := make([]*net.IPNet, 0, len(list))
	for i, v := range list {
		if !strings.Contains(v, "/") {
			ip := net.ParseIP(v)
			if ip == nil {
				return nil, fmt.Errorf("[%d]: %q is not an address or CIDR range", i, v)
			}
			bits := 128
			if ip.To4() != nil {
				ip, bits = ip.To4(), 32
			}
			out = append(out, &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)})
			continue
		}
		_, n, err := net.ParseCIDR(v)
		if err != nil {
			return nil, fmt.Errorf("[%d]: %q is not an address or CIDR range", i, v)
		}
		out = append(out, n)
	}
	return out, nil
}

func inNets(nets []*net.IPNet, addr string) bool {
	ip := net.ParseIP(addr)
	if ip == nil {
		return false
	}
	return slices.ContainsFunc(nets, func(n *net.IPNet) bool { return n.Contains(ip) })
}
