package discover

import (
	"context"
	"sync"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/diagnose"
)

// probe checks every candidate live with `mailport test`'s network checks,
// a few at a time, and moves the verified ones first (keeping the order
// among them).
func (d *run) probe(ctx context.Context) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, list := range [][]Candidate{d.res.Inbound, d.res.Outbound} {
		for i := range list {
			c := &list[i]
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				c.Probe = probeOne(ctx, *c, d.opts.Timeout)
			}()
		}
	}
	wg.Wait()
	d.res.Inbound = verifiedFirst(d.res.Inbound)
	d.res.Outbound = verifiedFirst(d.res.Outbound)
}

func probeOne(ctx context.Context, c Candidate, timeout time.Duration) *Probe {
	typ := config.Inbound
	if !c.Inbound() {
		typ = config.Outbound
	}
	a := &config.Account{Enabled: true, Type: typ, Protocol: c.Protocol, Host: c.Host, Port: c.Port, Encryption: c.Encryption, Auth: c.Auth, Login: c.Login}
	rep := diagnose.Probe(ctx, a, timeout)
	mechs := rep.Mechanisms
	if mechs == nil {
		mechs = []string{}
	}
	return &Probe{OK: rep.Failed == nil, Summary: rep.Summary(c.Protocol, c.Encryption), Mechanisms: mechs}
}

func verifiedFirst(c []Candidate) []Candidate {
	out := make([]Candidate, 0, len(c))
	for _, x := range c {
		if x.Probe != nil && x.Probe.OK {
			out = append(out, x)
		}
	}
	for _, x := range c {
		if x.Probe == nil || !x.Probe.OK {
			out = append(out, x)
		}
	}
	return out
}
