package discover

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/mailport/mailport/internal/plural"
	"github.com/mailport/mailport/pkg/config"
)

// MaxAutoconfigSize bounds an autoconfig file (real ones are a few KB).
const MaxAutoconfigSize = 1 << 20

// maxXMLDepth bounds the nesting of an autoconfig file (real ones nest 4
// deep).
const maxXMLDepth = 32

// maxServers bounds the servers taken from one file.
const maxServers = 32

// ISPDBURL is Thunderbird's ISP database; %s is the domain.
const ISPDBURL = "https://autoconfig.thunderbird.net/v1.1/%s"

// ErrDOCTYPE refuses an autoconfig file with a document type declaration:
// none is needed, and entity declarations are how XML attacks begin.
var ErrDOCTYPE = errors.New("the file has a DOCTYPE declaration, which an autoconfig file never needs")

// ErrTooDeep refuses a file nested deeper than any autoconfig file is.
var ErrTooDeep = fmt.Errorf("the file nests deeper than %d elements", maxXMLDepth)

// clientConfig is Thunderbird's autoconfig format, version 1.1: the parts
// mailport uses.
type clientConfig struct {
	XMLName   xml.Name `xml:"clientConfig"`
	Providers []struct {
		ID       string      `xml:"id,attr"`
		Domains  []string    `xml:"domain"`
		Incoming []xmlServer `xml:"incomingServer"`
		Outgoing []xmlServer `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

type xmlServer struct {
	Type           string   `xml:"type,attr"`
	Hostname       string   `xml:"hostname"`
	Port           string   `xml:"port"`
	SocketType     string   `xml:"socketType"`
	Username       string   `xml:"username"`
	Authentication []string `xml:"authentication"`
}

// Server is one server of an autoconfig file, placeholders not yet
// substituted.
type Server struct {
	Protocol   string // config.IMAP, config.POP3 or config.SMTP
	Host       string
	Port       int
	Encryption string
	Auths      []string // config.AuthOAuth2 / config.AuthBasic, the file's order
	Username   string
}

// ParseAutoconfig reads a Thunderbird autoconfig file (at most
// MaxAutoconfigSize bytes; no DOCTYPE; at most maxXMLDepth deep) and
// returns its IMAP, POP3 and SMTP servers in the file's order, skipping
// those mailport cannot use (other protocols, unknown socket types, no
// supported authentication) and saying why in skipped.
func ParseAutoconfig(data []byte) (servers []Server, skipped []string, err error) {
	if len(data) > MaxAutoconfigSize {
		return nil, nil, fmt.Errorf("the file is larger than %d KiB", MaxAutoconfigSize>>10)
	}
	if err := checkXML(data); err != nil {
		return nil, nil, err
	}
	var cc clientConfig
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	if err := dec.Decode(&cc); err != nil {
		var ue xml.UnmarshalError
		if errors.As(err, &ue) {
			return nil, nil, fmt.Errorf("not an autoconfig file: %s", clip(string(ue), 100))
		}
		return nil, nil, fmt.Errorf("broken XML: %s", xmlWords(err))
	}
	if len(cc.Providers) == 0 {
		return nil, nil, errors.New("no emailProvider in the file")
	}
	for _, p := range cc.Providers {
		for _, list := range [][]xmlServer{p.Incoming, p.Outgoing} {
			for _, x := range list {
				if len(servers) >= maxServers {
					return servers, skipped, nil
				}
				s, why := convert(x)
				if why != "" {
					skipped = append(skipped, why)
					continue
				}
				servers = append(servers, s)
			}
		}
	}
	return servers, skipped, nil
}

// checkXML walks the raw tokens: no directive (DOCTYPE, ENTITY), bounded
// depth. encoding/xml expands no entity beyond the five predefined ones,
// but a file that declares any is refused by name.
func checkXML(data []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	depth := 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("broken XML: %s", xmlWords(err))
		}
		switch t := tok.(type) {
		case xml.Directive:
			if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(string(t))), "DOCTYPE") {
				return ErrDOCTYPE
			}
			return fmt.Errorf("the file has an XML declaration <!%s>, which an autoconfig file never needs", clip(strings.Fields(string(t) + " ")[0], 20))
		case xml.StartElement:
			depth++
			if depth > maxXMLDepth {
				return ErrTooDeep
			}
		case xml.EndElement:
			depth--
		}
	}
}

func xmlWords(err error) string {
	var se *xml.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("line %d: %s", se.Line, clip(se.Msg, 100))
	}
	return clip(err.Error(), 120)
}

// convert maps one server element to mailport's words.
func convert(x xmlServer) (Server, string) {
	var s Server
	typ := strings.ToLower(strings.TrimSpace(x.Type))
	switch typ {
	case "imap":
		s.Protocol = config.IMAP
	case "pop3":
		s.Protocol = config.POP3
	case "smtp":
		s.Protocol = config.SMTP
	default:
		return s, fmt.Sprintf("a %q server (mailport speaks imap, pop3 and smtp)", clip(typ, 20))
	}
	s.Host = strings.TrimSuffix(strings.TrimSpace(x.Hostname), ".")
	if s.Host == "" || len(s.Host) > 253 || strings.ContainsAny(s.Host, " /:@\\") {
		return s, fmt.Sprintf("a %s server with no usable host name", typ)
	}
	switch strings.ToUpper(strings.TrimSpace(x.SocketType)) {
	case "SSL":
		s.Encryption = config.SSL
	case "STARTTLS":
		s.Encryption = config.StartTLS
	case "PLAIN":
		s.Encryption = config.None
	default:
		return s, fmt.Sprintf("%s server %s: unknown socketType %q", typ, clip(s.Host, 60), clip(x.SocketType, 20))
	}
	port, err := strconv.Atoi(strings.TrimSpace(x.Port))
	if err != nil || port < 1 || port > 65535 {
		return s, fmt.Sprintf("%s server %s: port %q is not a port number", typ, clip(s.Host, 60), clip(x.Port, 20))
	}
	s.Port = port
	for _, a := range x.Authentication {
		switch strings.ToLower(strings.TrimSpace(a)) {
		case "password-cleartext", "plain":
			s.Auths = appendOnce(s.Auths, config.AuthBasic)
		case "oauth2":
			s.Auths = appendOnce(s.Auths, config.AuthOAuth2)
		}
	}
	if len(x.Authentication) == 0 {
		s.Auths = []string{config.AuthBasic}
	}
	if len(s.Auths) == 0 {
		return s, fmt.Sprintf("%s server %s: authentication %s, which mailport does not do", typ, clip(s.Host, 60), clip(strings.Join(x.Authentication, ", "), 60))
	}
	s.Username = strings.TrimSpace(x.Username)
	return s, ""
}

func appendOnce(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}

// Substitute replaces Thunderbird's placeholders in s.
func Substitute(s, local, domain string) string {
	return strings.NewReplacer(
		"%EMAILADDRESS%", local+"@"+domain,
		"%EMAILLOCALPART%", local,
		"%EMAILDOMAIN%", domain,
	).Replace(s)
}

// candidates turns a file's servers into candidates for the address: the
// placeholders substituted, the auth chosen (OAuth2 for a Microsoft or
// Google host when offered, else the password), an empty username meaning
// the address.
func (d *run) candidates(servers []Server) []Candidate {
	var out []Candidate
	for _, s := range servers {
		host := strings.ToLower(Substitute(s.Host, d.local, d.domain))
		if !validDomain(host) {
			continue
		}
		auth := s.Auths[0]
		if len(s.Auths) > 1 {
			auth = config.AuthBasic
			if oauthHost(host) {
				auth = config.AuthOAuth2
			}
			if !appendOnceHas(s.Auths, auth) {
				auth = s.Auths[0]
			}
		}
		login := Substitute(s.Username, d.local, d.domain)
		if login == "" {
			login = d.email
		}
		out = append(out, Candidate{Protocol: s.Protocol, Host: host, Port: s.Port, Encryption: s.Encryption, Auth: auth, Login: login})
	}
	return out
}

func appendOnceHas(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// fromFile fetches and reads one autoconfig URL and takes its servers.
func (d *run) fromFile(ctx context.Context, source, u string) bool {
	body, outcome := d.get(ctx, u, MaxAutoconfigSize)
	if body == nil {
		d.try(source, u, outcome)
		return false
	}
	via := ""
	if outcome != "" {
		via = " (" + outcome + ")"
	}
	servers, skipped, err := ParseAutoconfig(body)
	if err != nil {
		d.try(source, u, "refused: "+err.Error()+via)
		return false
	}
	cands := d.candidates(servers)
	outcome = serversWords(cands) + via
	if len(skipped) > 0 {
		outcome += "; skipped " + strings.Join(firstN(skipped, 3), "; ")
	}
	d.try(source, u, outcome)
	return d.take(source, u, cands)
}

func serversWords(c []Candidate) string {
	in, out := 0, 0
	for _, x := range c {
		if x.Inbound() {
			in++
		} else {
			out++
		}
	}
	switch {
	case in+out == 0:
		return "no usable server"
	case out == 0:
		return plural.Of(in, "inbound server", "inbound servers") + ", no outbound"
	case in == 0:
		return plural.Of(out, "outbound server", "outbound servers") + ", no inbound"
	}
	return plural.Of(in+out, "server", "servers") + fmt.Sprintf(" (%d inbound, %d outbound)", in, out)
}

// autoconfig is the domain's own file at autoconfig.<domain>.
func (d *run) autoconfig(ctx context.Context) bool {
	u := "https://autoconfig." + d.domain + "/mail/config-v1.1.xml?emailaddress=" + url.QueryEscape(d.email)
	return d.fromFile(ctx, SourceAutoconfig, u)
}

// wellKnown is the domain's file under /.well-known.
func (d *run) wellKnown(ctx context.Context) bool {
	u := "https://" + d.domain + "/.well-known/autoconfig/mail/config-v1.1.xml"
	return d.fromFile(ctx, SourceAutoconfigWellKnown, u)
}

// ispdb is Thunderbird's ISP database, for the domain and then for its
// mail exchanger's registered domain.
func (d *run) ispdb(ctx context.Context) bool {
	if d.fromFile(ctx, SourceISPDB, fmt.Sprintf(ISPDBURL, d.domain)) {
		return true
	}
	if d.mxDomain != "" && d.mxDomain != d.domain {
		return d.fromFile(ctx, SourceISPDB, fmt.Sprintf(ISPDBURL, d.mxDomain))
	}
	return false
}
