package discover

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
)

// srvService is one RFC 6186 / RFC 8314 service label.
type srvService struct {
	service    string
	protocol   string
	encryption string
}

// srvServices in the order of preference: implicit TLS before STARTTLS
// (RFC 8314), IMAP before POP3.
var srvServices = []srvService{
	{"imaps", config.IMAP, config.SSL},
	{"imap", config.IMAP, config.StartTLS},
	{"pop3s", config.POP3, config.SSL},
	{"pop3", config.POP3, config.StartTLS},
	{"submissions", config.SMTP, config.SSL},
	{"submission", config.SMTP, config.StartTLS},
}

// maxSRV bounds the records taken from one SRV name.
const maxSRV = 16

// srv looks up the domain's RFC 6186 SRV records, the six names side by
// side (each bounded by the timeout), reported in the order of preference.
func (d *run) srv(ctx context.Context) bool {
	type answer struct {
		recs []*net.SRV
		err  error
	}
	answers := make([]answer, len(srvServices))
	var wg sync.WaitGroup
	for i, s := range srvServices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
			defer cancel()
			answers[i].recs, answers[i].err = d.opts.Resolver.LookupSRV(lctx, s.service, "tcp", d.domain)
		}()
	}
	wg.Wait()
	var cands []Candidate
	for i, s := range srvServices {
		name := "_" + s.service + "._tcp." + d.domain
		if err := answers[i].err; err != nil {
			d.try(SourceSRV, name, dnsWords(err))
			continue
		}
		got, outcome := SRVCandidates(answers[i].recs, s.protocol, s.encryption)
		for j := range got {
			got[j].Login = d.email
			got[j].Query = name
		}
		cands = append(cands, got...)
		d.try(SourceSRV, name, outcome)
	}
	return d.take(SourceSRV, "", cands)
}

// SRVCandidates turns the SRV records of one service (sorted by priority
// and weight) into candidates: a lone "." target means the service is not
// offered (RFC 2782), a port of 0 or a target that is not a host name is
// skipped. The outcome says what was taken in one sentence.
func SRVCandidates(recs []*net.SRV, protocol, encryption string) ([]Candidate, string) {
	var out []Candidate
	var why []string // why each unusable record was skipped
	for i, r := range recs {
		if i >= maxSRV {
			break
		}
		target := strings.TrimSuffix(strings.ToLower(r.Target), ".")
		if target == "" && len(recs) == 1 {
			return nil, "not offered (target \".\")"
		}
		switch {
		case target == "":
			why = append(why, "target \".\" beside other records")
		case !validDomain(target):
			why = append(why, fmt.Sprintf("target %q is not a host name", clip(target, 60)))
		case r.Port == 0:
			why = append(why, target+" on port 0")
		default:
			out = append(out, Candidate{Protocol: protocol, Host: target, Port: int(r.Port), Encryption: encryption, Auth: config.AuthBasic})
		}
	}
	if len(out) == 0 {
		return nil, "no usable record: " + strings.Join(firstN(why, 2), "; ")
	}
	words := make([]string, 0, len(out))
	for _, c := range out {
		words = append(words, net.JoinHostPort(c.Host, strconv.Itoa(c.Port)))
	}
	outcome := strings.Join(firstN(words, 3), ", ")
	if len(why) > 0 {
		outcome += "; skipped " + plural.Of(len(why), "unusable record", "unusable records") + ": " + strings.Join(firstN(why, 2), "; ")
	}
	return out, outcome
}
