package server

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// What the server knows of the client of a request depends on whether a
// reverse proxy stands between them. Served directly, the client is the
// peer of the connection (RemoteAddr) and the browser used TLS if the
// connection did. Behind a proxy (Options.BehindProxy) the peer is the
// proxy, which says who its client was in X-Forwarded-For and whether it
// spoke TLS with it in X-Forwarded-Proto; anyone can send those headers,
// so they are read only when the operator says a proxy sets them, and
// ignored otherwise.

// clientAddr returns the address of the client of r that failed
// authentications are counted against: the IP address of r.RemoteAddr,
// or with Options.BehindProxy the last address of X-Forwarded-For (the
// one the proxy added; those before it are whatever the client sent), if
// it is one. An IPv6 address stands for its /64 network, which one host
// usually holds whole.
func (s *Server) clientAddr(r *http.Request) string {
	if s.opts.BehindProxy {
		if a, ok := parseAddr(lastHeaderItem(r, "X-Forwarded-For")); ok {
			return addrKey(a)
		}
	}
	if a, ok := parseAddr(r.RemoteAddr); ok {
		return addrKey(a)
	}
	return r.RemoteAddr
}

// parseAddr parses an IP address, with or without a port.
func parseAddr(text string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(text); err == nil {
		return ap.Addr(), true
	}
	a, err := netip.ParseAddr(strings.Trim(text, "[]"))
	return a, err == nil
}

// addrKey is the text of a client address: IPv4 whole, IPv6 as its /64.
func addrKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is4() {
		return a.String()
	}
	p, _ := a.WithZone("").Prefix(64) // cannot fail for an IPv6 address
	return p.String()
}

// lastHeaderItem returns the last comma-separated item of the last name
// header of r, trimmed: what the nearest proxy added to a list.
func lastHeaderItem(r *http.Request, name string) string {
	v := r.Header.Values(name)
	if len(v) == 0 {
		return ""
	}
	last := v[len(v)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.TrimSpace(last)
}

// secure reports whether the browser reached the server over TLS: r came
// over TLS, or, with Options.BehindProxy, the proxy says it did
// (X-Forwarded-Proto: https). The dashboard's cookies are Secure then.
func (s *Server) secure(r *http.Request) bool {
	return r.TLS != nil || (s.opts.BehindProxy && strings.EqualFold(lastHeaderItem(r, "X-Forwarded-Proto"), "https"))
}

// setCookie sets a dashboard cookie: HttpOnly, SameSite=Strict, and
// Secure when the browser reached the server over TLS. A negative maxAge
// deletes it.
func (s *Server) setCookie(w http.ResponseWriter, r *http.Request, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secure(r), MaxAge: maxAge})
}

// refused reports whether the client of r must wait before it may
// authenticate again, and if so how long (Retry-After, in seconds) and the
// message that says so (what the client did too often: "failed
// sign-ins", say).
func (s *Server) refused(r *http.Request, what string) (retryAfter string, msg string, ok bool) {
	addr := s.clientAddr(r)
	d := s.authLimit.wait(addr)
	if d <= 0 {
		return "", "", false
	}
	secs := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(secs, 10), fmt.Sprintf("too many %s from %s: try again in %d s", what, addr, secs), true
}

// authFailed counts a failed authentication of the client of r, and logs
// it when the client has to wait from now on.
func (s *Server) authFailed(r *http.Request) {
	addr := s.clientAddr(r)
	if d := s.authLimit.fail(addr); d > 0 {
		s.log.Warn("too many failed authentications: refusing the client", "client", addr, "for", d.Round(time.Second).String())
	}
}
