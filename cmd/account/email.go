package account

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/discover"
)

// emailSetup is what `account add --email` decided: the discovery's
// result, the server it chose and where each field came from.
type emailSetup struct {
	res *discover.Result
	// chosen is the server taken, nil with a provider preset or when
	// nothing was found.
	chosen *discover.Candidate
	// preset is the provider preset discovery chose ("" when none, or
	// when --preset was given).
	preset string
	// from says, per field, where its value came from, in print order.
	from []fieldFrom
	// warnings are discovery's warnings that concern the account.
	warnings []string
}

// fieldFrom is one line of what add --email prints.
type fieldFrom struct {
	Field, Value, From string
}

// DiscoveryDescription is the "discovery" object of `account add --email
// --json`.
type DiscoveryDescription struct {
	Email    string `json:"email"`
	Source   string `json:"source"`
	Provider string `json:"provider"`
	Tenant   string `json:"tenant"`
	// Fields maps each field discovery or a flag set to where it came from.
	Fields   map[string]string `json:"fields"`
	Warnings []string          `json:"warnings"`
}

func (s *emailSetup) description() *DiscoveryDescription {
	d := &DiscoveryDescription{Email: s.res.Email, Source: s.source(), Provider: s.res.Provider, Tenant: s.res.Tenant,
		Fields: map[string]string{}, Warnings: s.warnings}
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	for _, f := range s.from {
		d.Fields[f.Field] = f.From
	}
	return d
}

// source is the source of the server taken: the chosen candidate's, else
// the one that completed the set ("mx" for a provider), else "".
func (s *emailSetup) source() string {
	if s.chosen != nil {
		return s.chosen.Source
	}
	return s.res.Source
}

// fieldOrder is the order fields are printed in.
var fieldOrder = []string{"type", "preset", "protocol", "host", "port", "encryption", "auth", "login", "token-config"}

// discoverFields runs discovery for opts.Email and fills every field of
// opts.Fields that no flag gave. It prompts on a terminal where discovery
// cannot decide, and otherwise fails (exit 2) listing what is undecided
// and the flags that settle it.
func discoverFields(ctx context.Context, opts *AddOptions, cfg *config.Config) (*emailSetup, error) {
	f, fl := opts.F, &opts.Fields
	given := map[string]bool{}
	set := func(flag string, dst *string, v string) {
		*dst = v
		given[flag] = true
	}
	prev := fl.changed
	defer func() { fl.changed = func(name string) bool { return given[name] || prev(name) } }()

	typ := config.Inbound
	if fl.changed("type") {
		typ = fl.Type
	} else {
		set("type", &fl.Type, typ)
	}
	hint := ""
	if fl.changed("protocol") && (fl.Protocol == config.IMAP || fl.Protocol == config.POP3) {
		hint = fl.Protocol
	}
	res, err := discover.Discover(ctx, opts.Email, discover.Options{Probe: opts.Probe, HTTPClient: f.HTTPClient, Protocol: hint})
	if err != nil {
		if errors.Is(err, discover.ErrAddress) {
			return nil, cmdutil.FlagErrorf("--email: %v", err)
		}
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, &cmdutil.ConfigError{Err: fmt.Errorf("discover %s: %w", opts.Email, err)}
	}
	s := &emailSetup{res: res}
	mine := map[string]bool{} // the hosts of the account's direction
	for _, c := range candidatesFor(res, typ, fl) {
		mine[c.Host] = true
	}
	for _, w := range res.Warnings {
		// What the set lacks concerns the other direction, or is said
		// below with what it leaves undecided; a warning about a server
		// of the other direction does not concern this account.
		if w.Kind == discover.WarnMissing || w.Host != "" && !mine[w.Host] {
			continue
		}
		s.warnings = append(s.warnings, w.Text)
		fmt.Fprintln(f.IO.ErrOut, "warning: "+w.Text)
	}
	s.note("type", typ, sourceOf(fl.changed("type") && !given["type"], "the default"))

	if res.Preset != "" || opts.Preset != "" {
		// A provider's preset (or --preset) names the servers.
		if opts.Preset == "" {
			s.preset = res.Preset
			opts.Preset = res.Preset
			s.note("preset", res.Preset, providerSource(res))
		} else {
			s.note("preset", opts.Preset, "given")
		}
		if err := s.login(fl, set, res.Email); err != nil {
			return nil, err
		}
		provider := presetProvider(opts.Preset)
		if !fl.changed("token-config") && (!fl.changed("auth") || fl.Auth == config.AuthOAuth2) && !(f.IO.CanPrompt() && hasTokenConfig(cfg, provider)) {
			return nil, needTokenConfig(opts, res, provider, cfg)
		}
		if fl.changed("token-config") {
			s.note("token-config", fl.TokenConfig, "given")
		}
		return s, nil
	}

	cands := candidatesFor(res, typ, fl)
	if len(cands) == 0 {
		var undecided, settle []string
		if !fl.changed("protocol") {
			undecided = append(undecided, "protocol")
			settle = append(settle, "--protocol "+strings.Join(protocolsFor(typ), "|"))
		}
		if !fl.changed("host") && !(fl.changed("protocol") && fl.Protocol == config.Microsoft) {
			undecided = append(undecided, "host")
			settle = append(settle, "--host HOST (with --port N and --encryption ssl|starttls|none unless the defaults)")
		}
		if len(undecided) > 0 {
			what := fmt.Sprintf("discovery found no %s server for %s (%s)", typ, res.Domain, triedSummary(res))
			if !f.IO.CanPrompt() {
				return nil, cmdutil.FlagErrorf("%s, so it cannot decide the %s: pass %s", what, strings.Join(undecided, " and "), strings.Join(settle, " and "))
			}
			fmt.Fprintf(f.IO.ErrOut, "%s; asking instead.\n", what)
		}
		if err := s.login(fl, set, res.Email); err != nil {
			return nil, err
		}
		s.noteGiven(fl)
		return s, nil
	}

	c := cands[0]
	if protos := distinctProtocols(cands); len(protos) > 1 {
		firsts := firstOfEach(cands)
		if !f.IO.CanPrompt() {
			var offers []string
			for _, x := range firsts {
				offers = append(offers, fmt.Sprintf("%s (%s:%d, %s)", x.Protocol, x.Host, x.Port, x.Encryption))
			}
			return nil, cmdutil.FlagErrorf("%s offers %s and discovery cannot decide the protocol: pass %s",
				res.Domain, joinAnd(offers), joinOr(prefixed("--protocol ", protos)))
		}
		pick, err := choose(f, res, firsts)
		if err != nil {
			return nil, err
		}
		c = pick
	}
	s.chosen = &c
	from := where(c)
	if c.Probe != nil && c.Probe.OK {
		from += ", verified live"
	}
	if !fl.changed("protocol") {
		set("protocol", &fl.Protocol, c.Protocol)
		s.note("protocol", c.Protocol, from)
	}
	if !fl.changed("host") {
		set("host", &fl.Host, c.Host)
		s.note("host", c.Host, from)
	}
	enc := fl.Encryption
	if !fl.changed("encryption") {
		enc = c.Encryption
		set("encryption", &fl.Encryption, c.Encryption)
		s.note("encryption", c.Encryption, from)
	}
	// The port goes with the encryption: a server found for implicit TLS
	// on 993 says nothing of the port for --encryption starttls.
	if !fl.changed("port") && c.Port > 0 && enc == c.Encryption {
		fl.Port = c.Port
		if c.Port == config.DefaultPort(fl.Protocol, enc) {
			fl.Port = 0 // stored as "the default", shown as the number
		}
		given["port"] = true
		s.note("port", strconv.Itoa(c.Port), from)
	}
	if !fl.changed("auth") && !fl.changed("token-config") && c.Auth != "" {
		if c.Auth == config.AuthOAuth2 {
			return nil, cmdutil.FlagErrorf("the %s server %s signs in with OAuth2 (from %s): pass --token-config NAME (create one with `mailport token-config add NAME --provider generic --client-id ID --auth-url URL --token-url URL`), or --auth basic if it takes a password",
				c.Protocol, c.Host, from)
		}
		set("auth", &fl.Auth, c.Auth)
		s.note("auth", c.Auth, from)
	}
	if !fl.changed("login") {
		if c.Login != "" && c.Login != res.Email {
			set("login", &fl.Login, c.Login)
			s.note("login", c.Login, from)
		} else if err := s.login(fl, set, res.Email); err != nil {
			return nil, err
		}
	}
	s.noteGiven(fl)
	if c.OutsideDomain && given["host"] && !opts.Yes {
		what := fmt.Sprintf("use %s, outside %s,", c.Host, res.Domain)
		ok, err := cmdutil.Confirm(f.IO, fmt.Sprintf("Use %s for %s?", c.Host, res.Email), what, "--yes to accept it, or --host to choose the server")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, cmdutil.ErrDeclined
		}
	}
	return s, nil
}

// where says which source named c and where: "srv _imaps._tcp.example.org",
// "autoconfig https://autoconfig.example.org/mail/config-v1.1.xml?…".
func where(c discover.Candidate) string {
	if c.Query == "" {
		return c.Source
	}
	return c.Source + " " + c.Query
}

// login fills --login with the address when it was not given.
func (s *emailSetup) login(fl *fields, set func(string, *string, string), email string) error {
	if fl.changed("login") {
		return nil
	}
	set("login", &fl.Login, email)
	s.note("login", email, "the address")
	return nil
}

// noteGiven records the fields that flags gave, so the printout says
// which values discovery did not choose.
func (s *emailSetup) noteGiven(fl *fields) {
	have := map[string]bool{}
	for _, x := range s.from {
		have[x.Field] = true
	}
	for _, e := range []struct{ flag, v string }{
		{"protocol", fl.Protocol}, {"host", fl.Host}, {"encryption", fl.Encryption},
		{"auth", fl.Auth}, {"login", fl.Login}, {"token-config", fl.TokenConfig},
	} {
		if !have[e.flag] && fl.changed(e.flag) && e.v != "" {
			s.note(e.flag, e.v, "given")
		}
	}
	if !have["port"] && fl.changed("port") && fl.Port != 0 {
		s.note("port", strconv.Itoa(fl.Port), "given")
	}
}

func (s *emailSetup) note(field, value, from string) {
	for i, x := range s.from {
		if x.Field == field {
			s.from[i] = fieldFrom{field, value, from}
			return
		}
	}
	s.from = append(s.from, fieldFrom{field, value, from})
	slices.SortStableFunc(s.from, func(a, b fieldFrom) int {
		return slices.Index(fieldOrder, a.Field) - slices.Index(fieldOrder, b.Field)
	})
}

// finish notes the fields of the account as saved that no note covers
// yet: those a preset or a default filled, or a prompt answered.
func (s *emailSetup) finish(a *config.Account, preset string) {
	have := map[string]bool{}
	for _, x := range s.from {
		have[x.Field] = true
	}
	by := "the default"
	if preset != "" {
		by = "the " + preset + " preset"
	}
	for _, e := range []struct{ field, v string }{
		{"protocol", a.Protocol}, {"host", a.Host}, {"encryption", a.Encryption}, {"auth", a.Auth},
		{"login", a.Login}, {"token-config", a.TokenConfig},
	} {
		if have[e.field] || e.v == "" {
			continue
		}
		from := by
		if e.field == "login" || e.field == "token-config" {
			from = "given"
		}
		s.note(e.field, e.v, from)
	}
	if !have["port"] && a.Protocol != config.Microsoft {
		from := "the default"
		if a.Port != 0 {
			from = "given"
		}
		s.note("port", strconv.Itoa(a.EffectivePort()), from)
	}
}

// print writes the fields chosen and their sources, one line each.
func (s *emailSetup) print(w io.Writer) {
	fmt.Fprintf(w, "Discovered for %s:\n", s.res.Email)
	width := 0
	for _, x := range s.from {
		width = max(width, len(x.Value))
	}
	for _, x := range s.from {
		fmt.Fprintf(w, "  %-13s %-*s  (%s)\n", x.Field, width, x.Value, fromWords(x.From))
	}
}

// fromWords is "given", "the default", "the address" as they are, and
// "from SOURCE" for a source.
func fromWords(from string) string {
	switch from {
	case "given", "the default", "the address":
		return from
	}
	return "from " + from
}

func sourceOf(given bool, otherwise string) string {
	if given {
		return "given"
	}
	return otherwise
}

// providerSource says how the provider was recognised, e.g. "Microsoft
// 365, by MX contoso-com.mail.protection.outlook.com".
func providerSource(res *discover.Result) string {
	name := res.Provider
	switch res.Provider {
	case config.ProviderMicrosoft:
		name = "Microsoft 365"
	case config.ProviderGoogle:
		name = "Google"
	}
	for _, t := range res.Tried {
		if hosts, ok := strings.CutPrefix(t.Outcome, "mail exchanger "); t.Source == discover.SourceMX && ok {
			hosts, _, _ = strings.Cut(hosts, ": ")
			return name + ", by MX " + hosts
		}
	}
	return name
}

// triedSummary lists the sources tried, e.g. "tried mx, autoconfig and
// srv: 3 lookups".
func triedSummary(res *discover.Result) string {
	var names []string
	for _, t := range res.Tried {
		if !slices.Contains(names, t.Source) {
			names = append(names, t.Source)
		}
	}
	if len(names) == 0 {
		return "no source answered"
	}
	return "tried " + joinAnd(names) + " in " + plural.Of(len(res.Tried), "lookup", "lookups") + "; `mailport discover " + res.Email + "` lists them"
}

// candidatesFor are the servers of the account's direction (and of
// --protocol when given), live-verified ones first, then those of the
// --encryption given.
func candidatesFor(res *discover.Result, typ string, fl *fields) []discover.Candidate {
	list := res.Inbound
	if typ == config.Outbound {
		list = res.Outbound
	}
	var out []discover.Candidate
	for _, c := range list {
		if fl.changed("protocol") && c.Protocol != fl.Protocol {
			continue
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(a, b discover.Candidate) int {
		if v := verified(b) - verified(a); v != 0 {
			return v
		}
		return wanted(fl, b) - wanted(fl, a)
	})
	return out
}

// wanted is 1 for a candidate of the --encryption given.
func wanted(fl *fields, c discover.Candidate) int {
	if fl.changed("encryption") && c.Encryption == fl.Encryption {
		return 1
	}
	return 0
}

func verified(c discover.Candidate) int {
	if c.Probe != nil && c.Probe.OK {
		return 1
	}
	return 0
}

func distinctProtocols(cands []discover.Candidate) []string {
	var out []string
	for _, c := range cands {
		if !slices.Contains(out, c.Protocol) {
			out = append(out, c.Protocol)
		}
	}
	return out
}

// firstOfEach is the best server of each protocol, in order.
func firstOfEach(cands []discover.Candidate) []discover.Candidate {
	var out []discover.Candidate
	seen := map[string]bool{}
	for _, c := range cands {
		if !seen[c.Protocol] {
			seen[c.Protocol] = true
			out = append(out, c)
		}
	}
	return out
}

// choose offers the candidates on the terminal; the first is the default.
func choose(f *cmdutil.Factory, res *discover.Result, cands []discover.Candidate) (discover.Candidate, error) {
	domain := res.Domain
	fmt.Fprintf(f.IO.ErrOut, "%s offers %s:\n", domain, plural.Of(len(cands), "server", "servers"))
	for i, c := range cands {
		line := fmt.Sprintf("  %d. %s %s:%d (%s, %s), from %s", i+1, c.Protocol, c.Host, c.Port, c.Encryption, c.Auth, where(c))
		if c.OutsideDomain {
			line += " [outside " + domain + "]"
		}
		fmt.Fprintln(f.IO.ErrOut, line)
	}
	for {
		v, err := f.IO.Prompt(fmt.Sprintf("Server (1-%d)", len(cands)), "1")
		if err != nil {
			return discover.Candidate{}, err
		}
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err == nil && n >= 1 && n <= len(cands) {
			return cands[n-1], nil
		}
		for _, c := range cands {
			if strings.EqualFold(strings.TrimSpace(v), c.Protocol) {
				return c, nil
			}
		}
		fmt.Fprintf(f.IO.ErrOut, "%q is not one of 1-%d; answer with a number.\n", v, len(cands))
	}
}

func protocolsFor(typ string) []string {
	if typ == config.Outbound {
		return []string{config.SMTP, config.Microsoft}
	}
	return []string{config.IMAP, config.POP3, config.Microsoft}
}

// presetProvider is the identity provider of a preset's servers.
func presetProvider(preset string) string {
	if preset == config.PresetGmail {
		return config.ProviderGoogle
	}
	return config.ProviderMicrosoft
}

// hasTokenConfig reports whether cfg has a token config of provider.
func hasTokenConfig(cfg *config.Config, provider string) bool {
	for _, tc := range cfg.TokenConfigs {
		if tc != nil && tc.Provider == provider {
			return true
		}
	}
	return false
}

// needTokenConfig is the error for a Microsoft or Google address without
// --token-config: it names the command that creates one, tenant filled in.
func needTokenConfig(opts *AddOptions, res *discover.Result, provider string, cfg *config.Config) error {
	name := opts.Name
	protocol := ""
	if p := opts.Fields.Protocol; opts.Fields.changed("protocol") {
		protocol = p
	}
	cmd := discover.TokenConfigCommand(&discover.Result{Provider: provider, Tenant: res.Tenant, Cloud: res.Cloud, Domain: res.Domain}, name, protocol)
	what := providerSource(res)
	if res.Preset == "" {
		what = "set up with the " + opts.Preset + " preset"
	}
	if res.Tenant != "" {
		what += ", tenant " + res.Tenant
	}
	var existing []string
	for _, n := range cmdutil.SortedNames(cfg.TokenConfigs) {
		if tc := cfg.TokenConfigs[n]; tc != nil && tc.Provider == provider {
			existing = append(existing, "--token-config "+n)
		}
	}
	also := ""
	if len(existing) > 0 {
		also = fmt.Sprintf(" (or use an existing one: %s)", joinOr(existing))
	}
	if res.Preset == "" {
		return cmdutil.FlagErrorf("%s is %s; it signs in with OAuth2 and needs --token-config%s.\nnext: %s\nthen: mailport account add %s --email %s --preset %s --token-config %s",
			res.Email, what, also, cmd, opts.Name, res.Email, opts.Preset, name)
	}
	return cmdutil.FlagErrorf("%s is %s; the %s preset signs in with OAuth2 and needs --token-config%s.\nnext: %s\nthen: mailport account add %s --email %s --token-config %s",
		res.Domain, what, opts.Preset, also, cmd, opts.Name, res.Email, name)
}

func prefixed(p string, list []string) []string {
	out := make([]string, len(list))
	for i, s := range list {
		out[i] = p + s
	}
	return out
}

func joinAnd(list []string) string { return joinWith(list, "and") }
func joinOr(list []string) string  { return joinWith(list, "or") }

func joinWith(list []string, word string) string {
	switch len(list) {
	case 0:
		return ""
	case 1:
		return list[0]
	}
	return strings.Join(list[:len(list)-1], ", ") + " " + word + " " + list[len(list)-1]
}
