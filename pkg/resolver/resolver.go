// Package resolver is where mailport's DNS lookups and dials go: the
// system's resolver, or, when MAILPORT_RESOLVER=HOST:PORT names one, that
// DNS server for every lookup (MX, SRV, TXT and the A/AAAA records of every
// host mailport connects to). Split-horizon DNS can then be debugged, and
// tests can serve names that exist nowhere else.
//
// A nil *Resolver is the system's resolver. Dialer and Transport read
// MAILPORT_RESOLVER when they dial, so the protocol adapters, the Graph
// client and the OAuth2 token requests follow it without being told.
//
// TLS trust is not this package's concern: Go's crypto/x509 already reads
// the system's roots plus SSL_CERT_FILE and SSL_CERT_DIR on Linux.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// EnvVar names the environment variable that directs lookups.
const EnvVar = "MAILPORT_RESOLVER"

// DefaultTimeout bounds one DNS exchange when the context has no earlier
// deadline.
const DefaultTimeout = 5 * time.Second

// maxRecords bounds the records mailport takes from one answer; a server
// sending more is trimmed, not trusted to be complete.
const maxRecords = 64

// maxCNAME bounds how many aliases a lookup follows.
const maxCNAME = 8

// Resolver sends lookups to one DNS server, or (nil, or Server "") to the
// system's resolver.
type Resolver struct {
	// Server is the DNS server as host:port; "" means the system's resolver.
	Server string
	// Timeout bounds one exchange; 0 means DefaultTimeout.
	Timeout time.Duration
}

// FromEnv returns the resolver MAILPORT_RESOLVER names, or the system's
// (a Resolver with no Server) when it is unset or empty. An invalid value
// is an error naming the variable.
func FromEnv() (*Resolver, error) {
	v := strings.TrimSpace(os.Getenv(EnvVar))
	if v == "" {
		return &Resolver{}, nil
	}
	r, err := Parse(v)
	if err != nil {
		return nil, fmt.Errorf("%s=%q: %w", EnvVar, v, err)
	}
	return r, nil
}

// Parse reads a resolver address: an IP address with a port
// (192.0.2.53:53, [2001:db8::53]:53), or an IP address alone (port 53).
// A host name is refused: it would need a resolver of its own.
func Parse(s string) (*Resolver, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		if ip := net.ParseIP(strings.Trim(s, "[]")); ip != nil {
			return &Resolver{Server: net.JoinHostPort(ip.String(), "53")}, nil
		}
		return nil, errors.New("not an IP address and port such as 127.0.0.1:53")
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return nil, fmt.Errorf("%q is not an IP address (a DNS server is given by its address, such as 127.0.0.1:53)", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return nil, fmt.Errorf("%q is not a port number from 1 to 65535", port)
	}
	return &Resolver{Server: net.JoinHostPort(ip.String(), strconv.Itoa(n))}, nil
}

// Custom reports whether lookups go to a named DNS server rather than the
// system's resolver.
func (r *Resolver) Custom() bool { return r != nil && r.Server != "" }

// String names where lookups go, for messages.
func (r *Resolver) String() string {
	if r.Custom() {
		return "the DNS server " + r.Server + " (" + EnvVar + ")"
	}
	return "the system's resolver"
}

func (r *Resolver) timeout() time.Duration {
	if r != nil && r.Timeout > 0 {
		return r.Timeout
	}
	return DefaultTimeout
}

// LookupHost returns the addresses of host (A and AAAA records). An IP
// address is returned as it is; "localhost" is the loopback addresses
// with either resolver.
func (r *Resolver) LookupHost(ctx context.Context, host string) ([]string, error) {
	if !r.Custom() {
		return net.DefaultResolver.LookupHost(ctx, host)
	}
	if ip := net.ParseIP(strings.Trim(host, "[]")); ip != nil {
		return []string{ip.String()}, nil
	}
	if h := strings.TrimSuffix(strings.ToLower(host), "."); h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return []string{"127.0.0.1", "::1"}, nil
	}
	// A and AAAA side by side, so a server that answers neither costs
	// one timeout, not two.
	type answer struct {
		rrs []dns.RR
		err error
	}
	answers := make([]answer, 2)
	var wg sync.WaitGroup
	for i, qt := range []uint16{dns.TypeA, dns.TypeAAAA} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i].rrs, answers[i].err = r.query(ctx, host, qt)
		}()
	}
	wg.Wait()
	var addrs []string
	var firstErr error
	for _, a := range answers {
		if a.err != nil {
			if firstErr == nil {
				firstErr = a.err
			}
			continue
		}
		for _, rr := range a.rrs {
			switch v := rr.(type) {
			case *dns.A:
				addrs = append(addrs, v.A.String())
			case *dns.AAAA:
				addrs = append(addrs, v.AAAA.String())
			}
		}
	}
	if len(addrs) == 0 {
		if firstErr != nil {
			return nil, firstErr
		}
		return nil, r.notFound(host)
	}
	return addrs, nil
}

// LookupMX returns the MX records of name, by preference.
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	if !r.Custom() {
		return net.DefaultResolver.LookupMX(ctx, name)
	}
	rrs, err := r.query(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	var mxs []*net.MX
	for _, rr := range rrs {
		if v, ok := rr.(*dns.MX); ok {
			mxs = append(mxs, &net.MX{Host: v.Mx, Pref: v.Preference})
		}
	}
	if len(mxs) == 0 {
		return nil, r.notFound(name)
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	return mxs, nil
}

// LookupSRV returns the SRV records of _service._proto.name, sorted by
// priority and, within one priority, by descending weight (mailport tries
// them in order rather than by weighted chance, so the result is stable).
// A target of "." (the service is not offered) is returned as it is.
func (r *Resolver) LookupSRV(ctx context.Context, service, proto, name string) ([]*net.SRV, error) {
	var srvs []*net.SRV
	qname := "_" + service + "._" + proto + "." + name
	if !r.Custom() {
		_, recs, err := net.DefaultResolver.LookupSRV(ctx, service, proto, name)
		if err != nil && len(recs) == 0 {
			return nil, err
		}
		srvs = recs
	} else {
		rrs, err := r.query(ctx, qname, dns.TypeSRV)
		if err != nil {
			return nil, err
		}
		for _, rr := range rrs {
			if v, ok := rr.(*dns.SRV); ok {
				srvs = append(srvs, &net.SRV{Target: v.Target, Port: v.Port, Priority: v.Priority, Weight: v.Weight})
			}
		}
		if len(srvs) == 0 {
			return nil, r.notFound(qname)
		}
	}
	SortSRV(srvs)
	return srvs, nil
}

// SortSRV orders SRV records by priority (lowest first), then weight
// (highest first), then target, so equal inputs give equal orders.
func SortSRV(srvs []*net.SRV) {
	sort.SliceStable(srvs, func(i, j int) bool {
		a, b := srvs[i], srvs[j]
		if a.Priority != b.Priority {
			return a.Priority < b.Priority
		}
		if a.Weight != b.Weight {
			return a.Weight > b.Weight
		}
		return a.Target < b.Target
	})
}

// LookupTXT returns the TXT records of name, each record's strings joined.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if !r.Custom() {
		return net.DefaultResolver.LookupTXT(ctx, name)
	}
	rrs, err := r.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var txts []string
	for _, rr := range rrs {
		if v, ok := rr.(*dns.TXT); ok {
			txts = append(txts, strings.Join(v.Txt, ""))
		}
	}
	if len(txts) == 0 {
		return nil, r.notFound(name)
	}
	return txts, nil
}

func (r *Resolver) notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, Server: r.Server, IsNotFound: true}
}

// query asks the server for name's records of type qt, following CNAMEs
// (in the answer, or by asking again) up to maxCNAME times, all within one
// timeout. It returns the records of type qt, at most maxRecords of them.
func (r *Resolver) query(ctx context.Context, name string, qt uint16) ([]dns.RR, error) {
	fqdn := dns.Fqdn(name)
	if _, ok := dns.IsDomainName(fqdn); !ok || len(fqdn) > 254 {
		return nil, &net.DNSError{Err: "not a valid domain name", Name: name, Server: r.Server, IsNotFound: true}
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	for hop := 0; hop <= maxCNAME; hop++ {
		in, err := r.exchange(ctx, fqdn, qt)
		if err != nil {
			return nil, err
		}
		switch in.Rcode {
		case dns.RcodeSuccess:
		case dns.RcodeNameError:
			return nil, r.notFound(name)
		default:
			return nil, &net.DNSError{Err: "server answered " + dns.RcodeToString[in.Rcode], Name: name, Server: r.Server, IsTemporary: in.Rcode == dns.RcodeServerFailure}
		}
		out, target := answerRecords(in, fqdn, qt)
		if len(out) > 0 || strings.EqualFold(target, fqdn) {
			return out, nil
		}
		fqdn = target // an alias without its records: ask for the target
	}
	return nil, &net.DNSError{Err: "too many aliases (CNAME)", Name: name, Server: r.Server}
}

// answerRecords follows the CNAME chain from fqdn inside an answer (at
// most maxCNAME aliases) and returns the records of type qt for the last
// name of the chain, at most maxRecords, and that name.
func answerRecords(in *dns.Msg, fqdn string, qt uint16) (out []dns.RR, target string) {
	target = fqdn
	for i := 0; i < maxCNAME; i++ {
		next := ""
		for _, rr := range in.Answer {
			if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, target) {
				next = c.Target
				break
			}
		}
		if next == "" {
			break
		}
		target = next
	}
	for _, rr := range in.Answer {
		if rr.Header().Rrtype == qt && strings.EqualFold(rr.Header().Name, target) && len(out) < maxRecords {
			out = append(out, rr)
		}
	}
	return out, target
}

// exchange sends one query over UDP, again over TCP when the answer is
// truncated, each bounded by the timeout and ctx.
func (r *Resolver) exchange(ctx context.Context, fqdn string, qt uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(fqdn, qt)
	m.RecursionDesired = true
	m.SetEdns0(dns.DefaultMsgSize, false)
	ctx, cancel := context.WithTimeout(ctx, r.timeout())
	defer cancel()
	c := &dns.Client{Net: "udp", UDPSize: dns.DefaultMsgSize, Timeout: r.timeout()}
	in, _, err := c.ExchangeContext(ctx, m, r.Server)
	if err == nil && in.Truncated {
		c.Net = "tcp"
		in, _, err = c.ExchangeContext(ctx, m, r.Server)
	}
	if err != nil {
		var ne net.Error
		timeout := errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded)
		msg := err.Error()
		if timeout {
			msg = "no answer within " + r.timeout().String()
		}
		return nil, &net.DNSError{Err: msg, Name: strings.TrimSuffix(fqdn, "."), Server: r.Server, IsTimeout: timeout, IsTemporary: true}
	}
	if in.Id != m.Id {
		return nil, &net.DNSError{Err: "answer to another query", Name: strings.TrimSuffix(fqdn, "."), Server: r.Server}
	}
	return in, nil
}
