package cmd

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mailport/mailport/cmd/cmdutil"
	"github.com/mailport/mailport/internal/dnstest"
	"github.com/mailport/mailport/internal/testcert"
	"github.com/mailport/mailport/pkg/graph/graphtest"
	"github.com/mailport/mailport/pkg/oauth/oauthtest"
	"github.com/mailport/mailport/pkg/pop3/pop3test"
	"github.com/mailport/mailport/pkg/smtp/smtptest"
)

// The "JSON output" section of docs/configuration.md is the contract for
// --json: one "### shape" heading per shape, a "Printed by `cmd`, ..."
// sentence naming the commands, and a table of fields (`path` | type |
// present | meaning). These tests read that section, so the page and what
// the commands print cannot drift apart.

const jsonDocPath = "../docs/configuration.md"

// jsonTypes are the types the section may use; "array of SHAPE" as well.
var jsonTypes = map[string]bool{"string": true, "integer": true, "boolean": true, "time": true,
	"string array": true, "object": true, "object array": true, "map": true}

type docField struct {
	path   string // "name", "secrets.token", "checks[].findings[].cause"
	typ    string
	always bool
}

type docShape struct {
	name     string
	commands []string // command paths without "mailport"
	fields   map[string]docField
	order    []string
}

type jsonDoc struct {
	shapes map[string]*docShape
	noJSON []string // commands the page says have no JSON form
}

var backticked = regexp.MustCompile("`([^`]+)`")

// commandSpans returns the command names in a sentence: backticked spans
// up to its end ('.', ';' or ':'), flags left out.
func commandSpans(s string) []string {
	if i := strings.IndexAny(s, ".;:"); i >= 0 {
		s = s[:i]
	}
	var out []string
	for _, m := range backticked.FindAllStringSubmatch(s, -1) {
		if !strings.HasPrefix(m[1], "-") {
			out = append(out, m[1])
		}
	}
	return out
}

// parentOf is the path of the object a field belongs to: "" for a
// top-level field, "checks[]" for "checks[].id".
func parentOf(path string) string {
	if i := strings.LastIndex(path, "."); i >= 0 {
		return path[:i]
	}
	return ""
}

func parseJSONDoc(t *testing.T) *jsonDoc {
	t.Helper()
	b, err := os.ReadFile(jsonDocPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n## JSON output\n")
	if start < 0 {
		t.Fatalf("%s has no \"## JSON output\" section", jsonDocPath)
	}
	section := text[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	doc := &jsonDoc{shapes: map[string]*docShape{}}
	parts := strings.Split(section, "\n### ")
	const noJSON = "Without a JSON form:"
	if i := strings.Index(parts[0], noJSON); i >= 0 {
		doc.noJSON = commandSpans(strings.ReplaceAll(parts[0][i+len(noJSON):], "\n", " "))
	}
	if len(doc.noJSON) == 0 {
		t.Errorf("the JSON output section has no %q sentence naming commands", noJSON)
	}
	for _, part := range parts[1:] {
		heading, body, _ := strings.Cut(part, "\n")
		sh := &docShape{name: strings.TrimSpace(heading), fields: map[string]docField{}}
		if _, dup := doc.shapes[sh.name]; dup {
			t.Errorf("shape %q is documented twice", sh.name)
		}
		doc.shapes[sh.name] = sh
		if i := strings.Index(body, "Printed by "); i >= 0 {
			para, _, _ := strings.Cut(body[i:], "\n\n")
			sh.commands = commandSpans(strings.ReplaceAll(para, "\n", " "))
		}
		if len(sh.commands) == 0 {
			t.Errorf("shape %q: no \"Printed by `command`\" sentence", sh.name)
		}
		for _, line := range strings.Split(body, "\n") {
			if !strings.HasPrefix(line, "| `") {
				continue
			}
			cells := strings.Split(strings.Trim(line, "|"), " | ")
			if len(cells) != 4 {
				t.Errorf("shape %q: row %q does not have 4 cells (field | type | present | meaning)", sh.name, line)
				continue
			}
			for i := range cells {
				cells[i] = strings.TrimSpace(cells[i])
			}
			f := docField{path: strings.Trim(cells[0], "`"), typ: cells[1], always: cells[2] == "always"}
			if _, dup := sh.fields[f.path]; dup {
				t.Errorf("shape %q: field %s listed twice", sh.name, f.path)
			}
			if cells[2] == "" || cells[3] == "" {
				t.Errorf("shape %q: field %s says nothing about when it is present or what it means", sh.name, f.path)
			}
			sh.fields[f.path] = f
			sh.order = append(sh.order, f.path)
		}
		if len(sh.fields) == 0 {
			t.Errorf("shape %q has no field table", sh.name)
		}
	}
	// Every type is known, and a nested field's parent is an object.
	for _, sh := range doc.shapes {
		for _, f := range sh.fields {
			if of, ok := strings.CutPrefix(f.typ, "array of "); ok {
				if doc.shapes[of] == nil {
					t.Errorf("shape %q: field %s is an array of %q, which is not a documented shape", sh.name, f.path, of)
				}
			} else if !jsonTypes[f.typ] {
				t.Errorf("shape %q: field %s has type %q; use one of the types the section lists", sh.name, f.path, f.typ)
			}
			p := parentOf(f.path)
			if p == "" {
				continue
			}
			want := "object"
			if strings.HasSuffix(p, "[]") {
				p, want = strings.TrimSuffix(p, "[]"), "object array"
			}
			if sh.fields[p].typ != want {
				t.Errorf("shape %q: field %s needs %s documented as %s", sh.name, f.path, p, want)
			}
		}
	}
	return doc
}

// shapeCheck runs commands with --json and checks what they print against
// the documented shapes, remembering which fields it has seen.
type shapeCheck struct {
	t    *testing.T
	e    *env
	doc  *jsonDoc
	seen map[string]map[string]bool // shape -> field paths seen
	ran  map[string]map[string]bool // command path -> shapes it printed
	// runner, when set, runs mailport instead of e.run (e.g. e.runFile).
	runner func(stdin string, args ...string) result
}

// output forms of a command under --json.
const (
	oneObject = iota
	objectArray
	jsonLines // fetch: each line's "type" names the shape "fetch <type>"
)

// run runs mailport with args and --json, expects exit code code (-1: any
// but 2), and checks every object printed against shape.
func (s *shapeCheck) run(form int, shape string, code int, stdin string, args ...string) []map[string]any {
	s.t.Helper()
	runFn := s.e.run
	if s.runner != nil {
		runFn = s.runner
	}
	r := runFn(stdin, append(args, "--json")...)
	where := strings.Join(args, " ")
	if (code >= 0 && r.code != code) || (code < 0 && r.code == 2) {
		s.t.Fatalf("mailport %s --json: exit %d, want %d\nstdout %s\nstderr %s", where, r.code, code, r.out, r.err)
	}
	var objs []map[string]any
	var shapes []string
	switch form {
	case oneObject:
		var o map[string]any
		if err := json.Unmarshal([]byte(r.out), &o); err != nil {
			s.t.Fatalf("mailport %s --json: not one JSON object: %v\n%s", where, err, r.out)
		}
		objs, shapes = append(objs, o), append(shapes, shape)
	case objectArray:
		if err := json.Unmarshal([]byte(r.out), &objs); err != nil || objs == nil {
			s.t.Fatalf("mailport %s --json: not a JSON array of objects: %v\n%s", where, err, r.out)
		}
		for range objs {
			shapes = append(shapes, shape)
		}
	case jsonLines:
		for _, line := range strings.Split(strings.TrimSuffix(r.out, "\n"), "\n") {
			var o map[string]any
			if err := json.Unmarshal([]byte(line), &o); err != nil {
				s.t.Fatalf("mailport %s --json: line %q is not a JSON object: %v", where, line, err)
			}
			typ, _ := o["type"].(string)
			objs, shapes = append(objs, o), append(shapes, shape+" "+typ)
		}
	}
	path := s.commandPath(args)
	if s.ran[path] == nil {
		s.ran[path] = map[string]bool{}
	}
	for i, o := range objs {
		s.ran[path][shapes[i]] = true
		s.object(shapes[i], "", o, where)
	}
	return objs
}

// commandPath is the command args name, e.g. "account show".
func (s *shapeCheck) commandPath(args []string) string {
	var words []string
	for _, a := range args {
		if strings.HasPrefix(a, "-") {
			break
		}
		words = append(words, a)
	}
	c, _, err := NewCmdRoot(cmdutil.NewFactory()).Find(words)
	if err != nil {
		s.t.Fatalf("no command for %v: %v", words, err)
	}
	return strings.TrimPrefix(c.CommandPath(), "mailport ")
}

// object checks one JSON object (at prefix within shape) against the page:
// every key documented with its type, every "always" field present.
func (s *shapeCheck) object(shape, prefix string, o map[string]any, where string) {
	s.t.Helper()
	sh := s.doc.shapes[shape]
	if sh == nil {
		s.t.Errorf("mailport %s --json printed a %q object, which the JSON output section does not document:\n%v", where, shape, o)
		return
	}
	if s.seen[shape] == nil {
		s.seen[shape] = map[string]bool{}
	}
	for _, p := range sh.order {
		if f := sh.fields[p]; f.always && parentOf(p) == prefix {
			if _, ok := o[p[len(prefix)+dotLen(prefix):]]; !ok {
				s.t.Errorf("mailport %s --json: %s: field %s is documented as always present but is missing", where, shape, p)
			}
		}
	}
	keys := make([]string, 0, len(o))
	for k := range o {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		path := k
		if prefix != "" {
			path = prefix + "." + k
		}
		f, ok := sh.fields[path]
		if !ok {
			s.t.Errorf("mailport %s --json: %s: field %s (%v) is not in the JSON output section", where, shape, path, o[k])
			continue
		}
		s.seen[shape][path] = true
		s.value(shape, f, o[k], where)
	}
}

func dotLen(prefix string) int {
	if prefix == "" {
		return 0
	}
	return 1
}

// value checks a field's value against its documented type.
func (s *shapeCheck) value(shape string, f docField, v any, where string) {
	s.t.Helper()
	bad := func() {
		s.t.Errorf("mailport %s --json: %s: field %s = %#v is not a %s", where, shape, f.path, v, f.typ)
	}
	switch f.typ {
	case "string":
		if _, ok := v.(string); !ok {
			bad()
		}
	case "integer":
		if n, ok := v.(float64); !ok || n != math.Trunc(n) {
			bad()
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad()
		}
	case "time":
		if str, ok := v.(string); !ok {
			bad()
		} else if _, err := time.Parse(time.RFC3339, str); err != nil {
			bad()
		}
	case "string array":
		a, ok := v.([]any)
		if !ok {
			bad()
		}
		for _, x := range a {
			if _, ok := x.(string); !ok {
				bad()
			}
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			bad()
		}
		for _, x := range m {
			if _, ok := x.(string); !ok {
				bad()
			}
		}
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad()
			return
		}
		s.object(shape, f.path, m, where)
	default: // "object array", "array of SHAPE"
		a, ok := v.([]any)
		if !ok {
			bad()
			return
		}
		for _, x := range a {
			m, ok := x.(map[string]any)
			if !ok {
				bad()
				continue
			}
			if of, ok := strings.CutPrefix(f.typ, "array of "); ok {
				s.object(of, "", m, where)
			} else {
				s.object(shape, f.path+"[]", m, where)
			}
		}
	}
}

// notExercised are documented fields these tests cannot make a command
// print in-process, each with the reason.
var notExercised = map[[2]string]string{
	{"fetch summary", "validity_change"}:     "needs an IMAP server that renumbers the folder between two fetches (pkg/fetch tests it)",
	{"fetch summary", "validity_change.old"}: "as validity_change",
	{"fetch summary", "validity_change.new"}: "as validity_change",
}

// TestJSONShapesMatchTheDocs runs every command that prints JSON against
// fake servers, so that each documented field (the optional ones too)
// appears, and checks each object against docs/configuration.md.
func TestJSONShapesMatchTheDocs(t *testing.T) {
	doc := parseJSONDoc(t)
	if t.Failed() {
		t.FailNow()
	}
	prov := oauthtest.New(oauthtest.Options{User: "support@contoso.com", Tenant: "contoso.com"})
	defer prov.Close()
	prov.AddClient(oauthtest.Client{ID: clientID, Secret: secretValue})
	g := graphtest.New(t, graphtest.Options{Authorize: func(string) (string, error) { return "support@contoso.com", nil }})
	g.AddUser("support@contoso.com")
	g.AddMessage("support@contoso.com", "Inbox", []byte("Subject: over Graph\r\n\r\nbody\r\n"))
	pop := pop3test.NewServer(t, pop3test.Options{Users: map[string]string{"in@example.com": "pw"}})
	for i := 1; i <= 2; i++ {
		pop.AddMessage([]byte(fmt.Sprintf("From: Jo <jo@example.com>\r\nSubject: ticket %d\r\nDate: Thu, 26 Nov 2026 10:15:00 +0100\r\n\r\nbody %d\r\n", i, i)))
	}
	smtpSrv := startSMTP(t, smtptest.Options{Security: smtptest.StartTLS, Users: map[string]string{"out@example.com": "pw"}, Rcpt: func(to string) error {
		if to == "nobody@example.com" {
			return smtptest.ParseReply("550 5.1.1 User unknown")
		}
		return nil
	}})

	e := newEnv(t)
	e.open = browser(t)
	s := &shapeCheck{t: t, e: e, doc: doc, seen: map[string]map[string]bool{}, ran: map[string]map[string]bool{}}
	soon := time.Now().AddDate(0, 0, 10).Format("2006-01-02")
	popHost, popPort, _ := strings.Cut(pop.Addr(), ":")
	closed := freePort(t)

	// Token configs: one in use, one with every optional URL, one generic.
	s.run(oneObject, "token config", 0, secretValue, "token-config", "add", "ms", "--provider", "microsoft", "--base-url", prov.MicrosoftBaseURL("contoso.com"),
		"--client-id", clientID, "--client-secret-stdin", "--for", "graph", "--secret-expires", soon)
	s.run(oneObject, "token config", 0, "", "token-config", "add", "web", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID,
		"--redirect-url", "http://localhost:8400/receiveTokenAuthentication.htm", "--identity-claim", "preferred_username")
	s.run(oneObject, "token config", 0, "", "token-config", "add", "gen", "--provider", "generic", "--client-id", "mailport-cli",
		"--auth-url", prov.GoogleAuthURL(), "--token-url", prov.GoogleTokenURL(), "--device-url", prov.GoogleDeviceURL(), "--scopes", "mail offline_access")
	s.run(oneObject, "token config", 0, "", "token-config", "edit", "web", "--scopes", "openid,email")
	// A referenced certificate and two federated credentials.
	cc, err := testcert.NewClient("mailport-ci", time.Now().AddDate(1, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	certFile := filepath.Join(e.dir, "app.pem")
	if err := os.WriteFile(certFile, cc.PEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s.run(oneObject, "token config", 0, "", "token-config", "add", "cert", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID,
		"--flow", "client_credentials", "--for", "imap", "--certificate-path", certFile, "--assertion-alg", "PS256")
	s.run(oneObject, "token config", 0, "", "token-config", "add", "k8s", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID,
		"--for", "imap", "--federated-token-file", filepath.Join(e.dir, "token"))
	s.run(oneObject, "token config", 0, "", "token-config", "add", "gh", "--provider", "microsoft", "--tenant", "contoso.com", "--client-id", clientID,
		"--for", "graph", "--federated-token", "github", "--federated-audience", "api://mail-jobs")
	saKey, _ := oauthtest.NewServiceAccountKey("reader@acme-mail.iam.gserviceaccount.com", "1048576", prov.GoogleTokenURL())
	s.run(oneObject, "token config", 0, string(saKey), "token-config", "add", "gsa", "--provider", "google", "--key-file", "-")

	// Accounts: OAuth2 over Graph, POP3 with a password and exec, one
	// whose server is down, one with a wrong password, one outbound.
	s.run(oneObject, "account", 0, "", "account", "add", "support", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "support@contoso.com", "--property", "graph_url="+g.URL, "--hold-dir", filepath.Join(e.dir, "graph"))
	s.run(oneObject, "account", 0, "", "account", "add", "other", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "other@contoso.com", "--property", "graph_url="+g.URL)
	s.run(oneObject, "account", 0, "", "account", "add", "fresh", "--type", "inbound", "--protocol", "microsoft", "--auth", "oauth2", "--token-config", "ms",
		"--login", "fresh@contoso.com", "--property", "graph_url="+g.URL)
	popFlags := []string{"--type", "inbound", "--protocol", "pop3", "--host", popHost, "--port", popPort, "--encryption", "none", "--login", "in@example.com",
		"--password-stdin", "--property", "allow_plaintext_auth=true"}
	hold := filepath.Join(e.dir, "hold")
	s.run(oneObject, "account", 0, "pw", append([]string{"account", "add", "box", "--hold-dir", hold, "--on-received", "exec", "--exec", "exit 7"}, popFlags...)...)
	s.run(oneObject, "account", 0, "wrong", append([]string{"account", "add", "wrongpw"}, popFlags...)...)
	s.run(oneObject, "account", 0, "pw", "account", "add", "dead", "--type", "inbound", "--protocol", "pop3", "--host", "127.0.0.1", "--port", "1",
		"--encryption", "none", "--login", "in@example.com", "--password-stdin", "--property", "allow_plaintext_auth=true", "--hold-dir", filepath.Join(e.dir, "dead"))
	s.run(oneObject, "account", 0, "", "account", "edit", "dead", "--port", closed)
	s.run(oneObject, "account", 0, "pw", "account", "add", "outbox", "--type", "outbound", "--protocol", "smtp", "--host", smtpSrv.Host(), "--port", itoa(smtpSrv.Port()),
		"--encryption", "starttls", "--login", "out@example.com", "--password-stdin", "--property", "tls_ca_file="+caFile(t, smtpSrv))
	s.run(oneObject, "account", 0, "", "account", "show", "support")
	s.run(objectArray, "account", 0, "", "account", "list")
	s.run(oneObject, "token config", 0, "", "token-config", "show", "ms")
	s.run(objectArray, "token config", 0, "", "token-config", "list")

	s.run(oneObject, "authenticate", 0, "", "authenticate", "support", "--timeout", "20s")
	// Signed in as support@, but the account logs in as other@: a warning.
	if res := s.run(oneObject, "authenticate", 0, "", "authenticate", "other", "--timeout", "20s"); res[0]["warnings"] == nil {
		t.Errorf("authenticate other --json has no warnings: %v", res[0])
	}
	e.expireStoredToken("other")
	s.run(oneObject, "token", 0, "", "token", "support")

	// fetch: a dry run, a run whose --exec fails, a run that works, a dead server.
	s.run(jsonLines, "fetch", 0, "", "fetch", "box", "--dry-run")
	s.run(jsonLines, "fetch", 0, "", "fetch", "box", "--dry-run", "--max-size", "10")
	s.run(jsonLines, "fetch", 1, "", "fetch", "box")
	s.run(jsonLines, "fetch", 0, "", "fetch", "box", "--exec", "true")
	s.run(jsonLines, "fetch", 1, "", "fetch", "dead", "--timeout", "5s")

	s.run(oneObject, "folders", 0, "", "folders", "support")
	s.run(oneObject, "folders", 0, "", "folders", "box")

	st := s.run(objectArray, "status", 0, "", "status")
	if len(st) != 7 {
		t.Errorf("status --json lists %d accounts, want 7", len(st))
	}

	s.run(oneObject, "send", 0, "", "send", "outbox", "--to", "a@example.com", "--cc", "b@example.com", "--subject", "shape", "--body", "hello")
	raw := filepath.Join(e.dir, "m.eml")
	if err := os.WriteFile(raw, []byte("From: out@example.com\r\nTo: c@example.com\r\nSubject: raw\r\nMessage-ID: <raw-1@example.com>\r\n\r\nhi\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.run(oneObject, "send", 0, "", "send", "outbox", "--raw", raw)
	s.run(oneObject, "send", 0, "", "send", "outbox", "--to", "a@example.com,nobody@example.com", "--partial", "--body", "hello")
	s.run(oneObject, "send dry run", 0, "", "send", "outbox", "--raw", raw, "--dry-run")

	s.run(oneObject, "test report", 1, "", "test", "wrongpw", "--timeout", "5s")
	s.run(oneObject, "test report", 1, "", "test", "dead", "--timeout", "5s")
	s.run(oneObject, "account disable", 0, "", "account", "disable", "other", "fresh")
	s.run(oneObject, "test all", -1, "", "test", "--all", "--timeout", "5s")
	s.run(oneObject, "account enable", 0, "", "account", "enable", "other")

	s.run(oneObject, "logout", 0, "", "logout", "other")
	e.vars["MAILPORT_REFRESH_TOKEN_OTHER"] = "from-the-environment" // the note: a token is still used
	s.run(oneObject, "logout", 0, "", "logout", "other")
	delete(e.vars, "MAILPORT_REFRESH_TOKEN_OTHER")
	s.run(oneObject, "removed", 0, "", "account", "remove", "wrongpw", "--yes")
	s.run(oneObject, "removed", 0, "", "token-config", "remove", "gen", "--yes")
	s.run(oneObject, "config path", 0, "", "config", "path")
	s.run(oneObject, "config validate", 0, "", "config", "validate")
	s.runner = e.runFile // the real secrets file: secrets_file
	s.run(oneObject, "config validate", 0, "", "config", "validate")
	s.runner = nil
	bad := filepath.Join(e.dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("version: 1\naccounts:\n  x:\n    type: inbound\n    protocol: imap\n    encryption: tls\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s.run(oneObject, "config validate", 2, "", "config", "validate", "--config", bad)
	s.run(oneObject, "version", 0, "", "version")
	s.run(oneObject, "explain entry", 0, "", "explain", "wrong-password")
	s.run(objectArray, "explain entry", 0, "", "explain")

	// discover: SRV records in a fake DNS (every lookup goes there), the
	// servers probed and found down.
	dns := dnstest.Start(t)
	dns.Add(t, "mail.corp.test. A 127.0.0.1",
		"_imaps._tcp.corp.test. SRV 0 0 "+closed+" mail.corp.test.",
		"_submission._tcp.corp.test. SRV 0 0 "+closed+" mail.corp.test.")
	t.Setenv("MAILPORT_RESOLVER", dns.Addr)
	s.run(oneObject, "discover", 0, "", "discover", "someone@corp.test", "--probe", "--timeout", "2s")
	s.run(oneObject, "discover", 1, "", "discover", "someone@nowhere.test", "--timeout", "2s")
	// account add --email: the discovery object, from the same fake DNS.
	dns.Add(t, "_imaps._tcp.found.test. SRV 0 1 993 mail.found.test.")
	s.run(oneObject, "account", 0, "pw", "account", "add", "found", "--email", "support@found.test", "--password-stdin", "--no-input")

	// Every documented field was seen, except the few that need what a
	// test here cannot set up.
	for name, sh := range doc.shapes {
		for _, p := range sh.order {
			why, exempt := notExercised[[2]string{name, p}]
			switch {
			case exempt && s.seen[name][p]:
				t.Errorf("shape %q: field %s is listed as not exercised (%s), but it was printed: drop it from the list", name, p, why)
			case !exempt && !s.seen[name][p]:
				t.Errorf("shape %q: no command printed documented field %s; either a command no longer prints it or this test does not reach it", name, p)
			}
		}
	}
	for k, why := range notExercised {
		if sh := doc.shapes[k[0]]; sh == nil || sh.fields[k[1]].path == "" {
			t.Errorf("notExercised names %s %s (%s), which the page does not document", k[0], k[1], why)
		}
	}
	// Each shape's "Printed by" commands are the commands that printed it.
	for name, sh := range doc.shapes {
		for _, c := range sh.commands {
			if !s.ran[c][name] {
				t.Errorf("the page says `%s` prints shape %q, but no run of it here did", c, name)
			}
		}
	}
	for c, shapes := range s.ran {
		for name := range shapes {
			if sh := doc.shapes[name]; sh != nil && !contains(sh.commands, c) {
				t.Errorf("`%s --json` printed shape %q, but the page's \"Printed by\" for it does not name %s", c, name, c)
			}
		}
	}
}

// TestEveryCommandHasADocumentedJSONForm walks the command tree: each
// command that does something is either printed by a documented shape or
// named as having no JSON form.
func TestEveryCommandHasADocumentedJSONForm(t *testing.T) {
	doc := parseJSONDoc(t)
	documented := map[string]bool{}
	for _, sh := range doc.shapes {
		for _, c := range sh.commands {
			documented[c] = true
		}
	}
	for _, c := range doc.noJSON {
		if documented[c] {
			t.Errorf("`%s` is said both to print JSON and to have no JSON form", c)
		}
		documented[c] = true
	}
	exists := map[string]bool{}
	for _, c := range allCommands(NewCmdRoot(cmdutil.NewFactory())) {
		path := strings.TrimPrefix(c.CommandPath(), "mailport ")
		exists[path] = true
		if c.HasSubCommands() || c.Hidden || c.Name() == "help" || !c.HasParent() {
			continue
		}
		if !documented[path] {
			t.Errorf("`mailport %s` is not in the JSON output section of %s: add the shape it prints, or name it under \"Without a JSON form\"", path, jsonDocPath)
		}
	}
	for c := range documented {
		if !exists[c] {
			t.Errorf("the JSON output section names `%s`, which is not a mailport command", c)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
