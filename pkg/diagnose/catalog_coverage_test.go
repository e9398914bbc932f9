package diagnose

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// producedBy names, for every catalog entry, the tests of this package
// that produce it through Run and assert its id. The first one runs with
// in-process servers only; TestDovecot needs the test bed.
var producedBy = map[string][]string{
	"server-misbehaves": {"TestMisbehavingServers"},
	// configuration
	"account-disabled":       {"TestDisabledAccountAndTokenConfigDirection"},
	"token-config-direction": {"TestDisabledAccountAndTokenConfigDirection"},
	"config-inconsistent":    {"TestConfigInconsistent"},
	"scopes-wrong-resource":  {"TestGraphTokenRefused", "TestAuthenticateFailedMailbox", "TestDovecot"},
	"tenant-placeholder":     {"TestTokenEndpointRefusals"},
	"aadsts50194":            {"TestTokenEndpointRefusals"},
	"client-secret-expiring": {"TestTokenEndpointRefusals"},
	"plaintext-auth":         {"TestPlaintextAuth"},
	// secrets
	"password-missing":      {"TestTokenEndpointRefusals"},
	"not-authenticated":     {"TestTokenEndpointRefusals"},
	"client-secret-missing": {"TestClientSecretMissing"},
	// token endpoint refusals
	"aadsts7000215":              {"TestTokenEndpointRefusals"},
	"aadsts700027":               {"TestAssertionRefusals"},
	"aadsts700024":               {"TestAssertionRefusals"},
	"aadsts70021":                {"TestAssertionRefusals"},
	"aadsts50027":                {"TestAssertionRefusals"},
	"public-confidential-client": {"TestTokenEndpointRefusals"},
	"aadsts700016":               {"TestTokenEndpointRefusals"},
	"aadsts90002":                {"TestTokenEndpointRefusals"},
	"aadsts50011":                {"TestTokenEndpointRefusals"},
	"aadsts65001":                {"TestTokenEndpointRefusals"},
	"aadsts50059":                {"TestTokenEndpointRefusals"},
	"aadsts70043":                {"TestTokenEndpointRefusals"},
	"aadsts700082":               {"TestTokenEndpointRefusals"},
	"aadsts50173":                {"TestTokenEndpointRefusals"},
	"aadsts70000":                {"TestTokenEndpointRefusals"},
	"aadsts501481":               {"TestTokenEndpointRefusals"},
	"aadsts54005":                {"TestTokenEndpointRefusals"},
	"aadsts70011":                {"TestTokenEndpointRefusals"},
	"aadsts28000":                {"TestTokenEndpointRefusals"},
	"aadsts50020":                {"TestTokenEndpointRefusals"},
	"aadsts50076":                {"TestTokenEndpointRefusals"},
	"aadsts70008":                {"TestTokenEndpointRefusals"},
	"google-sa-key-missing":      {"TestServiceAccountFindings"},
	"google-sa-delegation":       {"TestServiceAccountFindings"},
	"google-sa-unknown-user":     {"TestServiceAccountFindings"},
	"google-sa-signature":        {"TestServiceAccountFindings"},
	"google-sa-clock":            {"TestServiceAccountFindings"},
	"google-invalid-grant":       {"TestGoogleTokens"},
	"no-refresh-token":           {"TestGoogleTokens"},
	"invalid-scope":              {"TestTokenEndpointRefusals"},
	// the token against the protocol
	"token-wrong-audience": {"TestGraphTokenRefused", "TestAuthenticateFailedMailbox", "TestDovecot"},
	"token-missing-scope":  {"TestGraphMailboxNotEnabled", "TestAuthenticateFailedMailbox", "TestDovecot"},
	"google-mail-scope":    {"TestGoogleTokens", "TestGoogleChallengeAtLogin"},
	"token-user-mismatch":  {"TestGraphFailures", "TestNotConnected", "TestDovecot"},
	// network
	"graph-dns-failure": {"TestGraphDNSFailure"},
	"graph-tcp-refused": {"TestGraphConnectionRefused"},
	"dns-failure":       {"TestDNSFailure"},
	"tcp-refused":       {"TestConnectionRefused"},
	"tcp-timeout":       {"TestTCPTimeout"},         // skipped where the kernel completes connections beyond a full backlog
	"tcp-unreachable":   {"TestNetworkUnreachable"}, // Linux only
	"server-silent":     {"TestServerSilent"},
	"tls-on-plain-port": {"TestWrongEncryptionForThePort"},
	"plain-on-tls-port": {"TestWrongEncryptionForThePort", "TestWrongEncryptionSaidOnce"},
	// what answers on the port, and mailport's own bugs
	"wrong-protocol":    {"TestWrongProtocol", "TestWrongEncryptionSaidOnce"},
	"http-on-port":      {"TestWrongProtocol"},
	"ssh-on-port":       {"TestWrongProtocol"},
	"junk-on-port":      {"TestWrongProtocol"},
	"internal-error":    {"TestPanicInACheckIsAFailedCheck"},
	"tls-name-mismatch": {"TestCertificateProblems"},
	"tls-expired":       {"TestCertificateProblems"},
	"tls-untrusted":     {"TestCertificateProblems"},
	// protocol
	"no-xoauth2":                             {"TestServerWithoutXOAUTH2"},
	"pop3-one-line-xoauth2":                  {"TestPOP3OneLineXOAUTH2Refused"},
	"smtp-auth-disabled":                     {"TestSMTPAuthDisabledForTenant"},
	"smtp-auth-unsuccessful":                 {"TestSMTPAuthDisabledForTenant"},
	"not-connected":                          {"TestNotConnected"},
	"authenticate-failed-graph-token":        {"TestAuthenticateFailedMailbox", "TestDovecot"},
	"authenticate-failed-protocol-auth-type": {"TestAuthenticateFailedPasswordAtMicrosoft"},
	"authenticate-failed-mailbox":            {"TestAuthenticateFailedMailbox"},
	"wrong-password":                         {"TestIMAPPasswordAndFolder", "TestDovecot"},
	"token-refused":                          {"TestTokenFitsAgreesWithAuth", "TestRankingAgainstRealServers"},
	"smtp-auth-after-starttls":               {"TestSMTPAuthOnlyAfterSTARTTLS", "TestRankingAgainstRealServers"},
	"auth-answer-held":                       {"TestLoginAnswerHeldInProcess", "TestRankingAgainstRealServers"},
	"auth-answer-held-token":                 {"TestRankingAgainstRealServers"},
	"google-device-flow-mail":                {"TestTokenConfigCannotServe"},
	"token-refused-unfit":                    {"TestTokenFitsAgreesWithAuth", "TestAuthenticateFailedMailbox", "TestDovecot"},
	// Graph
	"graph-id-malformed":        {"TestGraphFailures"},
	"graph-access-denied":       {"TestGraphFailures"},
	"graph-mailbox-not-enabled": {"TestGraphMailboxNotEnabled"},
	"graph-token-refused":       {"TestGraphTokenRefused"},
	"graph-throttled":           {"TestGraphFailures"},
	// folder and send
	"folder-not-found":    {"TestIMAPPasswordAndFolder"},
	"smtp-sender-refused": {"TestSMTPSenderRefused"},
}

// cannotProduce lists the entries no test here can produce, each with the
// reason. Every entry is produced today; an entry added here must say why
// (e.g. it needs Microsoft's own servers) in a comment.
var cannotProduce = map[string]string{}

// TestEveryCatalogEntryIsProduced fails when a catalog entry has no test
// that produces it: every entry must be in producedBy (or, with a reason,
// in cannotProduce), and every test named there must exist in this
// package and assert the entry's id.
func TestEveryCatalogEntryIsProduced(t *testing.T) {
	bodies := testBodies(t)
	inCatalog := map[string]bool{}
	for _, e := range Catalog {
		inCatalog[e.ID] = true
		tests, produced := producedBy[e.ID]
		reason, excused := cannotProduce[e.ID]
		switch {
		case produced && excused:
			t.Errorf("entry %s is both produced by %v and listed as not producible (%s)", e.ID, tests, reason)
		case excused && strings.TrimSpace(reason) == "":
			t.Errorf("entry %s is listed as not producible without a reason", e.ID)
		case !produced && !excused:
			t.Errorf("entry %s is produced by no test: add a test that runs the diagnosis into it and name it in producedBy", e.ID)
		}
		for _, name := range tests {
			body, ok := bodies[name]
			if !ok {
				t.Errorf("entry %s: no test %s in this package", e.ID, name)
				continue
			}
			if !strings.Contains(body, strconv.Quote(e.ID)) {
				t.Errorf("entry %s: %s does not assert it", e.ID, name)
			}
		}
	}
	var stale []string
	for id := range producedBy {
		if !inCatalog[id] {
			stale = append(stale, id)
		}
	}
	for id := range cannotProduce {
		if !inCatalog[id] {
			stale = append(stale, id)
		}
	}
	sort.Strings(stale)
	if len(stale) > 0 {
		t.Errorf("not catalog entries: %v", stale)
	}
}

// testBodies returns the source of every Test function of this package's
// test files, by name.
func testBodies(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob("*_test.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test files: %v", err)
	}
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Body == nil {
				continue
			}
			start, end := fset.Position(fn.Body.Pos()).Offset, fset.Position(fn.Body.End()).Offset
			out[fn.Name.Name] = string(src[start:end])
		}
	}
	return out
}
