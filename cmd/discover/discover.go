// Package discover holds `mailport discover`: the servers of an address,
// found as mail clients find them (MX provider, autoconfig, the ISP
// database, SRV records), optionally checked live.
package discover

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/pkg/config"
	dsc "github.com/mailport/mailport/pkg/discover"
)

// Options are the inputs of `mailport discover`.
type Options struct {
	F        *cmdutil.Factory
	Email    string
	Probe    bool
	Protocol string
	Timeout  time.Duration
}

// NewCmdDiscover is `mailport discover`.
func NewCmdDiscover(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{F: f}
	cmd := &cobra.Command{
		Use:   "discover EMAIL",
		Short: "Find the mail servers of an address",
		Long: `Find the IMAP, POP3 and SMTP servers of an address the way mail clients do, trying in order:

  1. the provider, by the domain's MX records: Microsoft 365 (*.mail.protection.outlook.com or
     *.mx.microsoft, with the tenant id from Microsoft's OpenID configuration) or Google
     (*.google.com);
  2. the domain's autoconfig file, https://autoconfig.DOMAIN/mail/config-v1.1.xml;
  3. https://DOMAIN/.well-known/autoconfig/mail/config-v1.1.xml;
  4. Thunderbird's ISP database, for the domain and for its mail exchanger's domain;
  5. RFC 6186 SRV records (_imaps._tcp, _imap._tcp, _pop3s._tcp, _pop3._tcp,
     _submissions._tcp, _submission._tcp).

It stops at the first source that names both an inbound and an outbound server, and lists
every source it tried with what came of it. Only https is trusted: a redirect to http:// is
refused. A server outside the address's domain (and its mail exchanger's) is warned about, as
Thunderbird does. With --probe each server is checked live with the network checks of
` + "`mailport test`" + ` (DNS, TCP, TLS, greeting, capabilities; no login) and marked [verified: ...] or
[failed: ...].

DNS lookups go to the system's resolver, or to the server MAILPORT_RESOLVER=HOST:PORT names.

Exit status: 0 when an inbound and an outbound server were found, 1 when not, 2 for an
address or flag that cannot be used.`,
		Example: `  mailport discover support@contoso.com
  mailport discover alice@example.org --probe
  mailport discover alice@example.org --protocol pop3 --json | jq '.inbound[0]'
  MAILPORT_RESOLVER=10.0.0.53:53 mailport discover alice@corp.example --probe`,
		Args: cmdutil.ExactArgs(1, "an email address"),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Email = args[0]
			if opts.Timeout <= 0 {
				return cmdutil.FlagErrorf("--timeout must be positive, such as 10s")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd, opts)
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&opts.Probe, "probe", false, "check each server found live (connect, TLS, greeting, capabilities; no login)")
	cmdutil.EnumVar(cmd, fl, &opts.Protocol, "protocol", "", "preferred inbound protocol: imap or pop3", cmdutil.Enum{Values: []string{config.IMAP, config.POP3}, Aliases: map[string]string{"pop": config.POP3}})
	fl.DurationVar(&opts.Timeout, "timeout", dsc.DefaultTimeout, "bound each lookup, request and network step")
	return cmd
}

func run(cmd *cobra.Command, opts *Options) error {
	f := opts.F
	res, err := dsc.Discover(cmd.Context(), opts.Email, dsc.Options{
		Probe:      opts.Probe,
		HTTPClient: f.HTTPClient,
		Timeout:    opts.Timeout,
		Protocol:   opts.Protocol,
	})
	if err != nil {
		switch {
		case errors.Is(err, dsc.ErrAddress):
			return &cmdutil.FlagError{Err: err}
		case cmd.Context().Err() != nil:
			return err
		}
		// Discover fails otherwise only for MAILPORT_RESOLVER.
		return &cmdutil.ConfigError{Err: err}
	}
	if f.JSON {
		if err := cmdutil.PrintJSON(f.IO.Out, res); err != nil {
			return err
		}
	} else if err := Write(f.IO.Out, res); err != nil {
		return err
	}
	if !res.Complete() {
		return cmdutil.ErrSilent
	}
	return nil
}

// Write prints a result for people: the servers, where they came from,
// each source tried, warnings and what to run next.
func Write(w io.Writer, r *dsc.Result) error {
	var b strings.Builder
	switch {
	case r.Complete():
		fmt.Fprintf(&b, "Servers for %s (from %s):\n", r.Email, sourceWords(r.Source))
	case len(r.Inbound)+len(r.Outbound) > 0:
		fmt.Fprintf(&b, "Only part of what %s needs was found:\n", r.Email)
	default:
		fmt.Fprintf(&b, "No servers found for %s.\n", r.Email)
	}
	if r.Provider != "" {
		fmt.Fprintf(&b, "Provider: %s (preset %s)", providerWords(r.Provider), r.Preset)
		if r.Tenant != "" {
			fmt.Fprintf(&b, ", tenant %s", r.Tenant)
			if r.Cloud != "" && r.Cloud != "global" {
				fmt.Fprintf(&b, " in the %s cloud", r.Cloud)
			}
		}
		b.WriteString("\n")
	}
	// Inbound and outbound servers share their columns' widths.
	tables := make([][][]string, 2)
	for i, list := range [][]dsc.Candidate{r.Inbound, r.Outbound} {
		for _, c := range list {
			row := []string{c.Protocol, c.Host + ":" + strconv.Itoa(c.Port), c.Encryption, c.Auth, "login " + c.Login}
			mark := ""
			if c.Probe != nil {
				if c.Probe.OK {
					mark = "[verified: " + c.Probe.Summary + "]"
				} else {
					mark = "[failed: " + c.Probe.Summary + "]"
				}
			}
			if c.OutsideDomain && c.Source != dsc.SourceMX {
				mark = strings.TrimSpace(mark + " (outside " + r.Domain + ")")
			}
			tables[i] = append(tables[i], append(row, mark))
		}
	}
	width := widths(append(append([][]string(nil), tables[0]...), tables[1]...))
	for i, title := range []string{"Inbound", "Outbound"} {
		if len(tables[i]) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s:\n", title)
		writeAligned(&b, tables[i], width)
	}
	b.WriteString("\nSources tried:\n")
	rows := make([][]string, 0, len(r.Tried))
	for _, a := range r.Tried {
		rows = append(rows, []string{a.Source, a.Query, a.Outcome})
	}
	writeRows(&b, rows)
	if len(r.Warnings) > 0 {
		b.WriteString("\nWarnings:\n")
		for _, w := range r.Warnings {
			b.WriteString("  " + w.Text + "\n")
		}
	}
	if next := nextSteps(r); len(next) > 0 {
		b.WriteString("\nNext:\n")
		for _, n := range next {
			b.WriteString("  " + n + "\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// maxAligned is the widest cell a column is aligned to: a longer one (an
// autoconfig URL) is followed by two spaces instead, so that one long URL
// does not push every other row's last column far to the right.
const maxAligned = 40

// writeRows aligns rows of cells, two spaces apart, indented by two.
func writeRows(b *strings.Builder, rows [][]string) {
	writeAligned(b, rows, widths(rows))
}

// widths are the widths of the columns of rows, each at most maxAligned.
func widths(rows [][]string) []int {
	var width []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(width) {
				width = append(width, 0)
			}
			if n := len([]rune(c)); n > width[i] && n <= maxAligned {
				width[i] = n
			}
		}
	}
	return width
}

// writeAligned writes rows with their columns padded to width.
func writeAligned(b *strings.Builder, rows [][]string, width []int) {
	for _, r := range rows {
		line := " "
		for i, c := range r {
			if i == len(r)-1 {
				line += " " + c
				continue
			}
			line += " " + c + strings.Repeat(" ", max(width[i]-len([]rune(c)), 0)+1)
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
}

func sourceWords(s string) string {
	switch s {
	case dsc.SourceMX:
		return "the domain's MX records"
	case dsc.SourceAutoconfig:
		return "the domain's autoconfig file"
	case dsc.SourceAutoconfigWellKnown:
		return "the domain's .well-known autoconfig file"
	case dsc.SourceISPDB:
		return "Thunderbird's ISP database"
	case dsc.SourceSRV:
		return "the domain's SRV records"
	}
	return s
}

func providerWords(p string) string {
	switch p {
	case dsc.ProviderMicrosoft:
		return "Microsoft 365"
	case dsc.ProviderGoogle:
		return "Google"
	}
	return p
}

// nextSteps are the commands that set the address up with what was found.
// A partial set gives the command for the side that was found.
func nextSteps(r *dsc.Result) []string {
	if r.Preset != "" && r.Complete() {
		in := r.Inbound[0]
		tc := "ms365"
		if r.Provider == dsc.ProviderGoogle {
			tc = "gmail"
		}
		return []string{
			dsc.TokenConfigCommand(r, tc, in.Protocol),
			fmt.Sprintf("mailport account add NAME --preset %s --type inbound --protocol %s --login %s --token-config %s", r.Preset, in.Protocol, in.Login, tc),
		}
	}
	line := func(c dsc.Candidate, name, typ string) string {
		s := fmt.Sprintf("mailport account add %s --type %s --protocol %s --host %s --port %d --encryption %s --auth %s --login %s", name, typ, c.Protocol, c.Host, c.Port, c.Encryption, c.Auth, c.Login)
		if c.Auth == config.AuthBasic {
			s += " --password-stdin"
		}
		return s
	}
	var steps []string
	if len(r.Inbound) > 0 {
		steps = append(steps, line(r.Inbound[0], "NAME", config.Inbound))
	}
	if len(r.Outbound) > 0 {
		steps = append(steps, line(r.Outbound[0], "NAME-out", config.Outbound))
	}
	return steps
}
