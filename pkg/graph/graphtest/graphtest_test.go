package graphtest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// do makes a raw request and decodes the JSON answer.
func do(t *testing.T, s *Server, method, path, token, ctype, body string) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(raw) > 0 && strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		if err := json.Unmarshal(raw, &out); err != nil {
			t.Fatalf("%s %s: answer is not JSON: %q", method, path, raw)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func errorOf(t *testing.T, body map[string]any) (code, msg string) {
	t.Helper()
	e, ok := body["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", body)
	}
	inner, ok := e["innerError"].(map[string]any)
	if !ok || inner["request-id"] == "" {
		t.Errorf("error lacks innerError.request-id: %v", e)
	}
	return e["code"].(string), e["message"].(string)
}

func newServer(t *testing.T) (*Server, string) {
	s := New(t, Options{})
	s.AddUser("alice@example.com")
	s.AddUser("bob@example.com")
	return s, s.IssueToken("alice@example.com")
}

func TestErrorsLikeGraph(t *testing.T) {
	s, tok := newServer(t)
	for _, tc := range []struct {
		name, method, path, token string
		status                    int
		code, msg                 string
	}{
		{"no token", "GET", "/me", "", 401, "InvalidAuthenticationToken", "Access token is empty."},
		{"unknown token", "GET", "/me", "junk", 401, "InvalidAuthenticationToken", "Access token validation failure."},
		{"folder path as id", "GET", "/me/mailFolders/Inbox%2FEndpoint", tok, 400, "ErrorInvalidIdMalformed", "Id is malformed."},
		{"name as id", "GET", "/me/mailFolders/Endpoint/messages", tok, 400, "ErrorInvalidIdMalformed", "Id is malformed."},
		{"message name as id", "PATCH", "/me/messages/Inbox", tok, 400, "ErrorInvalidIdMalformed", "Id is malformed."},
		{"well-formed unknown id", "GET", "/me/messages/AAMkTQAAAAAAAAP_AAAAAAAAAAA=", tok, 404, "ErrorItemNotFound", "The specified object was not found in the store."},
		{"other mailbox", "GET", "/users/bob@example.com/mailFolders/inbox", tok, 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."},
		{"unknown user", "GET", "/users/nobody@example.com/mailFolders/inbox", tok, 404, "ErrorInvalidUser", "The requested user 'nobody@example.com' is invalid."},
		{"unknown $select", "GET", "/me/mailFolders/inbox/messages?$select=id,sizzle", tok, 400, "RequestBroker--ParseUri", "Could not find a property named 'sizzle' on type 'microsoft.graph.message'."},
		{"inefficient filter", "GET", "/me/mailFolders/inbox/messages?" + url.Values{"$filter": {"isRead eq false"}, "$orderby": {"receivedDateTime"}}.Encode(), tok, 400, "InefficientFilter", "The restriction or sort order is too complex for this operation."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := do(t, s, tc.method, tc.path, tc.token, "application/json", "{}")
			code, msg := errorOf(t, body)
			if status != tc.status || code != tc.code || msg != tc.msg {
				t.Errorf("%s %s = %d %s %q, want %d %s %q", tc.method, tc.path, status, code, msg, tc.status, tc.code, tc.msg)
			}
		})
	}
}

func TestSharedMailboxGrant(t *testing.T) {
	s, tok := newServer(t)
	s.AddMessage("bob@example.com", "Inbox", []byte("Subject: for bob\r\n\r\nx\r\n"))
	s.Grant("alice@example.com", "bob@example.com")
	status, _, body := do(t, s, "GET", "/users/BOB@example.com/mailFolders/inbox", tok, "", "")
	if status != 200 || body["totalItemCount"] != 1.0 || body["displayName"] != "Inbox" {
		t.Fatalf("granted shared inbox = %d %v", status, body)
	}
}

func TestMessagesPagingDefaultsAndNextLink(t *testing.T) {
	s, tok := newServer(t)
	for range 25 {
		s.AddMessage("alice@example.com", "Inbox", []byte("Subject: x\r\n\r\nbody\r\n"))
	}
	next := s.URL + "/me/mailFolders/inbox/messages?$select=id,isRead"
	var pages, total int
	for next != "" {
		if !strings.HasPrefix(next, s.URL) {
			t.Fatalf("nextLink %q is not absolute on the server", next)
		}
		status, _, body := do(t, s, "GET", strings.TrimPrefix(next, s.URL), tok, "", "")
		if status != 200 {
			t.Fatalf("page %d: status %d %v", pages, status, body)
		}
		vals := body["value"].([]any)
		for _, v := range vals {
			m := v.(map[string]any)
			if _, ok := m["subject"]; ok || m["id"] == nil || m["isRead"] != false {
				t.Fatalf("$select=id,isRead gave %v", m)
			}
		}
		total += len(vals)
		pages++
		next, _ = body["@odata.nextLink"].(string)
	}
	if pages != 3 || total != 25 {
		t.Errorf("%d pages with %d messages, want 3 pages (default $top 10) with 25", pages, total)
	}
}

func TestMoveGivesNewID(t *testing.T) {
	s, tok := newServer(t)
	id := s.AddMessage("alice@example.com", "Inbox", []byte("Subject: m\r\n\r\nbody\r\n"))
	dest := s.AddFolder("alice@example.com", "Inbox/Done")
	status, _, body := do(t, s, "POST", "/me/messages/"+id+"/move", tok, "application/json", `{"destinationId":"`+dest+`"}`)
	if status != 201 || body["id"] == id || body["parentFolderId"] != dest {
		t.Fatalf("move = %d %v, want 201 with a new id in %s", status, body, dest)
	}
	if status, _, _ := do(t, s, "GET", "/me/messages/"+id, tok, "", ""); status != 404 {
		t.Errorf("old id after move: %d, want 404", status)
	}
}

func TestSendMail(t *testing.T) {
	s, tok := newServer(t)
	mime := "From: alice@example.com\r\nTo: bob@example.com\r\nBcc: alice@example.com,\r\n\tcarol@example.org\r\nSubject: s\r\n\r\nbody\r\n"
	status, _, body := do(t, s, "POST", "/me/sendMail", tok, "text/plain", base64.StdEncoding.EncodeToString([]byte(mime)))
	if status != 202 {
		t.Fatalf("sendMail = %d %v", status, body)
	}
	for _, u := range []string{"bob@example.com", "alice@example.com"} {
		in := s.Messages(u, "Inbox")
		if len(in) != 1 {
			t.Fatalf("%s inbox has %d messages", u, len(in))
		}
		got, _ := s.Content(in[0].ID)
		if string(got) != "From: alice@example.com\r\nTo: bob@example.com\r\nSubject: s\r\n\r\nbody\r\n" {
			t.Errorf("%s received %q, want the message without Bcc", u, got)
		}
	}
	if sent := s.Messages("alice@example.com", "sentitems"); len(sent) != 1 || !sent[0].IsRead {
		t.Errorf("sent items = %+v", sent)
	}

	status, _, body = do(t, s, "POST", "/me/sendMail", tok, "text/plain", "not base64!")
	if code, _ := errorOf(t, body); status != 400 || code != "ErrorMimeContentInvalidBase64String" {
		t.Errorf("bad base64 = %d %s", status, code)
	}
	big := strings.Repeat("A", MaxRequestBytes+4)
	status, _, body = do(t, s, "POST", "/me/sendMail", tok, "text/plain", big)
	if code, _ := errorOf(t, body); status != 413 {
		t.Errorf("over 4 MB = %d %s, want 413", status, code)
	}
}

func TestThrottleAndAuthorizeHook(t *testing.T) {
	s, _ := newServer(t)
	s.SetAuthorize(func(tok string) (string, error) {
		if tok == "expired" {
			return "", errors.New("Lifetime validation failed, the token is expired.")
		}
		return tok, nil // the token names the user
	})
	s.Throttle(2, "")
	for i := range 2 {
		status, h, body := do(t, s, "GET", "/me", "alice@example.com", "", "")
		code, _ := errorOf(t, body)
		if status != 429 || code != "ApplicationThrottled" || h.Get("Retry-After") != "" {
			t.Errorf("throttled request %d = %d %s Retry-After %q", i, status, code, h.Get("Retry-After"))
		}
	}
	s.Throttle(1, "0.5")
	if _, h, _ := do(t, s, "GET", "/me", "alice@example.com", "", ""); h.Get("Retry-After") != "0.5" {
		t.Errorf("Retry-After = %q, want 0.5", h.Get("Retry-After"))
	}
	status, _, body := do(t, s, "GET", "/me", "alice@example.com", "", "")
	if status != 200 || body["userPrincipalName"] != "alice@example.com" {
		t.Errorf("after throttling: %d %v", status, body)
	}
	status, _, body = do(t, s, "GET", "/me", "expired", "", "")
	if code, msg := errorOf(t, body); status != 401 || code != "InvalidAuthenticationToken" || !strings.Contains(msg, "expired") {
		t.Errorf("hook refusal = %d %s %q", status, code, msg)
	}
	if st := s.Stats(); st.Requests != 5 || st.Throttled != 3 || st.MaxConcurrent != 1 {
		t.Errorf("stats %+v", st)
	}
}

func TestParseFilter(t *testing.T) {
	cl, err := parseFilter("displayName eq 'Bob''s ''x'' and y' and isRead eq false and receivedDateTime ge 2024-01-02T03:04:05Z")
	if err != nil {
		t.Fatal(err)
	}
	if len(cl) != 3 || cl[0].lit.s != "Bob's 'x' and y" || cl[1].lit.kind != "bool" || cl[1].lit.b || cl[2].op != "ge" || cl[2].lit.t.Day() != 2 {
		t.Errorf("parsed %+v", cl)
	}
	for _, bad := range []string{"", "a eq", "a eq 'x", "a eq 1 or b eq 2", "a like 'x'", "a eq 'x' and"} {
		if _, err := parseFilter(bad); err == nil {
			t.Errorf("parseFilter(%q) accepted", bad)
		}
	}
}

func TestStripHeader(t *testing.T) {
	in := "To: a@x\r\nBcc: b@x,\r\n c@x\r\nbcc: d@x\r\nSubject: s\r\n\r\nBcc: in the body stays\r\n"
	want := "To: a@x\r\nSubject: s\r\n\r\nBcc: in the body stays\r\n"
	if got := string(stripHeader([]byte(in), "Bcc")); got != want {
		t.Errorf("stripHeader = %q, want %q", got, want)
	}
}
