package discover

import (
	"sort"

	"github.com/mailport/mailport/pkg/config"
)

// orderInbound puts the preferred protocol first (IMAP when none is
// preferred, Graph before IMAP for Microsoft), implicit TLS before
// STARTTLS before none, and keeps the sources' order otherwise.
func orderInbound(c []Candidate, prefer string) []Candidate {
	rank := func(p string) int {
		switch {
		case prefer != "" && p == prefer:
			return 0
		case prefer == "" && p == config.Microsoft:
			return 1
		case p == config.IMAP:
			return 2
		case p == config.POP3:
			return 3
		}
		return 4
	}
	sort.SliceStable(c, func(i, j int) bool {
		if ri, rj := rank(c[i].Protocol), rank(c[j].Protocol); ri != rj {
			return ri < rj
		}
		return encRank(c[i].Encryption) < encRank(c[j].Encryption)
	})
	return dedupe(c)
}

// orderOutbound prefers implicit TLS (RFC 8314), then STARTTLS.
func orderOutbound(c []Candidate) []Candidate {
	sort.SliceStable(c, func(i, j int) bool { return encRank(c[i].Encryption) < encRank(c[j].Encryption) })
	return dedupe(c)
}

func encRank(e string) int {
	switch e {
	case config.SSL:
		return 0
	case config.StartTLS:
		return 1
	}
	return 2
}

// dedupe drops a candidate equal to an earlier one (same protocol, host,
// port, encryption and auth).
func dedupe(c []Candidate) []Candidate {
	type key struct {
		p, h string
		port int
		e, a string
	}
	seen := map[key]bool{}
	out := c[:0]
	for _, x := range c {
		k := key{x.Protocol, x.Host, x.Port, x.Encryption, x.Auth}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, x)
	}
	return out
}
