package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// The targets of issue 5.
const (
	imapTarget = 1.0      // mailport IMAP wall ≤ 1.0 × mbsync's
	pop3Target = 0.25     // mailport POP3 wall ≤ 0.25 × fetchmail's
	rssTarget  = 40 << 20 // peak RSS with the large message in the set
)

// reference is the mailport job a peer's row is compared with: the same
// protocol into a Maildir.
func reference(stats []Stats, j Job) (Stats, bool) {
	for _, st := range stats {
		if st.Job.Tool == "mailport" && st.Job.Protocol == j.Protocol && st.Job.Format == "maildir" && st.Runs > 0 {
			return st, true
		}
	}
	return Stats{}, false
}

// PrintTable prints one row per job; a peer's row carries the ratio
// mailport/peer of wall time (and CPU) for the same protocol.
func PrintTable(out io.Writer, stats []Stats, n int, memory bool) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	wall := "wall median"
	if memory {
		wall = "wall"
	}
	fmt.Fprintf(w, "tool\tprotocol\tformat\t%s\tCPU\tpeak RSS\tbyte-exact\tmailport/peer\n", wall)
	for _, st := range stats {
		j := st.Job
		if st.Runs == 0 {
			fmt.Fprintf(w, "%s\t%s\t%s\tfailed\t\t\t\t\n", j.Tool, j.Protocol, j.Format)
			continue
		}
		ratio := "—"
		if j.Tool != "mailport" {
			if ref, ok := reference(stats, j); ok {
				ratio = fmt.Sprintf("%.2f× wall, %.2f× CPU", frac(ref.Wall, st.Wall), frac(ref.CPU, st.CPU))
			}
		}
		exact := fmt.Sprintf("%d/%d", st.Worst.Exact, n)
		if k := st.Worst.CRLF; k > 0 {
			exact += " (CRLF)"
		}
		if k := st.Worst.Stripped; k > 0 {
			exact += fmt.Sprintf(" (%d with added fields removed)", k)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.Tool, j.Protocol, j.Format,
			secs(st.Wall), secs(st.CPU), mib(st.PeakRSS), exact, ratio)
	}
	w.Flush()
	fmt.Fprintln(out, "byte-exact: the copy equals the original byte for byte, with LF line ends as generated or CRLF as carried on the wire,")
	fmt.Fprintln(out, "  after removing only the header fields the tool documents that it adds:")
	done := map[string]bool{}
	for _, st := range stats {
		j := st.Job
		if done[j.Tool] || len(j.Prepended)+len(j.Appended) == 0 {
			continue
		}
		done[j.Tool] = true
		var parts []string
		if len(j.Prepended) > 0 {
			parts = append(parts, "at the top "+strings.Join(j.Prepended, ", "))
		}
		if len(j.Appended) > 0 {
			parts = append(parts, "at the end of the header "+strings.Join(j.Appended, ", "))
		}
		fmt.Fprintf(out, "    %s: %s\n", j.Tool, strings.Join(parts, "; "))
	}
	fmt.Fprintln(out, "CPU is user+sys and peak RSS the maximum resident set of the tool and the children it waited for (fetchmail's MDA), from GNU time.")
}

func frac(a, b time.Duration) float64 {
	if b <= 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// PrintTargets says for each target whether mailport met it, and returns
// true when any was missed (or could not be measured).
func PrintTargets(out io.Writer, stats, mem []Stats, n int) (missed bool) {
	find := func(list []Stats, tool, protocol, format string) (Stats, bool) {
		for _, st := range list {
			if st.Job.Tool == tool && st.Job.Protocol == protocol && st.Job.Format == format && st.Runs > 0 {
				return st, true
			}
		}
		return Stats{}, false
	}
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		missed = true
		return "MISSED"
	}
	fmt.Fprintln(out, "\ntargets:")
	mp, okM := find(stats, "mailport", "imap", "maildir")
	if mb, ok := find(stats, "mbsync", "imap", "maildir"); ok && okM {
		r := frac(mp.Wall, mb.Wall)
		fmt.Fprintf(out, "  IMAP wall ≤ %.2f× mbsync (fsync on): %.2f× (%s vs %s) %s\n", imapTarget, r, secs(mp.Wall), secs(mb.Wall), verdict(r <= imapTarget))
	}
	if me, ok := find(stats, "mailport", "imap", "eml"); ok {
		if mb, ok := find(stats, "mbsync", "imap", "maildir"); ok {
			r := frac(me.Wall, mb.Wall)
			fmt.Fprintf(out, "  IMAP into .eml wall ≤ %.2f× mbsync: %.2f× %s\n", imapTarget, r, verdict(r <= imapTarget))
		}
	}
	pp, okP := find(stats, "mailport", "pop3", "maildir")
	if fm, ok := find(stats, "fetchmail", "pop3", "maildir"); ok && okP {
		r := frac(pp.Wall, fm.Wall)
		fmt.Fprintf(out, "  POP3 wall ≤ %.2f× fetchmail: %.2f× (%s vs %s) %s\n", pop3Target, r, secs(pp.Wall), secs(fm.Wall), verdict(r <= pop3Target))
	}
	for _, st := range mem {
		if st.Job.Tool == "mailport" {
			fmt.Fprintf(out, "  peak RSS ≤ %s with the large message, %s: %s %s\n", mib(rssTarget), st.Job.Name(), mib(st.PeakRSS), verdict(st.PeakRSS <= rssTarget))
		}
	}
	for _, list := range [][]Stats{stats, mem} {
		for _, st := range list {
			if st.Job.Tool != "mailport" || st.Runs == 0 {
				continue
			}
			want := n
			if len(mem) > 0 && &list[0] == &mem[0] {
				want = n + 1
			}
			fmt.Fprintf(out, "  byte-exact %s: %d/%d %s\n", st.Job.Name(), st.Worst.Exact, want, verdict(st.Worst.Exact == want && st.Worst.Extra == 0))
		}
	}
	return missed
}
