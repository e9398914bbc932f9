package diagnose

import (
	"context"
	"strings"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
)

// ProbeReport is what the network checks of `mailport test` saw on a
// server that is not (yet) an account: DNS, TCP, TLS, greeting and
// capabilities, without credentials.
type ProbeReport struct {
	Checks []Check
	// Mechanisms are the SASL mechanisms the server offers.
	Mechanisms []string
	// Failed is the first failed check, nil when none failed.
	Failed *Check
}

// Probe runs the network checks of `mailport test` on acct's server
// (host, port, encryption, protocol and auth as they would be configured):
// no secret is read and no login is tried. Each step is bounded by
// timeout (0 means DefaultTimeout).
func Probe(ctx context.Context, acct *config.Account, timeout time.Duration) *ProbeReport {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	const name = "probe"
	a := *acct
	cfg := &config.Config{Accounts: map[string]*config.Account{name: &a}}
	o := &connect.Opener{Config: cfg, Timeout: timeout}
	r := &runner{opts: Options{Opener: o, Timeout: timeout, Now: time.Now}, name: name, acct: &a, blocked: map[string]string{}}
	r.report = &Report{Account: name, Type: a.Type, Protocol: a.Protocol, Auth: a.Auth, Login: a.Login, Server: connect.Describe(&a)}
	r.ep, _ = o.Endpoint(&a)
	r.ep.Timeout = timeout
	defer r.close()
	r.check(ctx, "dns", "DNS", nil, r.checkDNS)
	r.check(ctx, "tcp", "TCP connect", []string{needNet}, r.checkTCP)
	r.check(ctx, "tls", "TLS", []string{needNet}, r.checkTLS)
	if a.Protocol != config.Microsoft {
		r.check(ctx, "greeting", "greeting", []string{needNet}, r.checkGreeting)
		r.check(ctx, "capabilities", "capabilities", []string{needNet, needSession}, r.checkCapabilities)
	}
	p := &ProbeReport{Checks: r.report.Checks, Mechanisms: r.mechs}
	for i := range p.Checks {
		if p.Checks[i].Status == Fail {
			p.Failed = &p.Checks[i]
			break
		}
	}
	return p
}

// Summary is the probe in one line: "TLS ok, IMAP greeting, AUTH=PLAIN
// LOGIN" when no check failed, else the failed check and its cause.
func (p *ProbeReport) Summary(protocol string, enc string) string {
	if f := p.Failed; f != nil {
		why := f.Saw
		for _, fd := range f.Findings {
			if fd.Status != Fail {
				continue
			}
			detail := fd.Said
			if detail == "" {
				detail = fd.Error
			}
			if detail == "" {
				detail = fd.Cause
			}
			if detail != "" && !strings.Contains(why, detail) {
				why += ": " + clip(strings.TrimSuffix(detail, "."), 160)
			}
			break
		}
		return f.Name + " failed: " + why
	}
	var parts []string
	switch enc {
	case config.None:
		parts = append(parts, "no TLS")
	case config.StartTLS:
		parts = append(parts, "STARTTLS ok")
	default:
		parts = append(parts, "TLS ok")
	}
	if protocol == config.Microsoft {
		return parts[0] + ", HTTPS"
	}
	parts = append(parts, strings.ToUpper(protocol)+" greeting")
	if len(p.Mechanisms) > 0 {
		parts = append(parts, "AUTH="+strings.Join(p.Mechanisms, " "))
	} else {
		parts = append(parts, "no AUTH mechanism listed")
	}
	return strings.Join(parts, ", ")
}
