package graph

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzErrorBody feeds arbitrary error answers to the error parser: it
// must never panic, and what it keeps stays short and printable.
func FuzzErrorBody(f *testing.F) {
	f.Add(400, []byte(`{"error":{"code":"ErrorInvalidIdMalformed","message":"Id is malformed.","innerError":{"request-id":"r-1"}}}`))
	f.Add(502, []byte("<html><body>Bad gateway</body></html>"))
	f.Add(429, []byte(`{"error":{"code":"ApplicationThrottled","message":"`+strings.Repeat("x", 3000)+`"}}`))
	f.Add(500, []byte(`{"error":{"code":"\u00ff\ud800","message":null}}`))
	f.Add(500, bytes.Repeat([]byte("{"), maxErrorBody+1))
	f.Add(401, []byte("\xff\xfe bad utf-8"))
	f.Fuzz(func(t *testing.T, status int, raw []byte) {
		if len(raw) > maxErrorBody+1 {
			raw = raw[:maxErrorBody+1] // parseError never reads more
		}
		e := decodeError(status, "", raw, "Graph at example.test")
		if e == nil || e.StatusCode != status {
			t.Fatalf("decodeError = %+v", e)
		}
		if len(e.Code) > 200+len("…") || len(e.Message) > 2000+len("…")+200 {
			t.Fatalf("kept %d + %d bytes of an error answer", len(e.Code), len(e.Message))
		}
		_ = e.Error()
	})
}

// FuzzListPage feeds arbitrary listing pages to the page parser: it must
// never panic, never hand over more than maxPageItems messages, and never
// return a nextLink longer than maxNextLink.
func FuzzListPage(f *testing.F) {
	f.Add([]byte(`{"@odata.context":"x","value":[{"id":"AAMk1","receivedDateTime":"2026-11-01T08:00:00Z","isRead":false,` +
		`"singleValueExtendedProperties":[{"id":"Integer 0xe08","value":"1234"}]}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/me/messages?$skip=10"}`))
	f.Add([]byte(`{"value":null,"@odata.nextLink":null}`))
	f.Add([]byte(`{"value":{"id":"a"}}`))
	f.Add([]byte(`{"value":[` + strings.Repeat(`{},`, maxPageItems) + `{}]}`))
	f.Add([]byte(`{"value":[{"id":"a","singleValueExtendedProperties":[` + strings.Repeat(`{},`, 20) + `{}]}]}`))
	f.Add([]byte(`[1,2,3]`))
	f.Add([]byte(`{"value":[{"id":"a"}],"value":[{"id":"b"}]}`))
	f.Add([]byte(`{"value":[{"id":"x","receivedDateTime":"not a date"}]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		n := 0
		next, err := parsePage(bytes.NewReader(raw), maxPageItems, func(m apiMessage) error {
			n++
			if m.size() < 0 {
				t.Fatalf("negative size %d", m.size())
			}
			_ = checkID(m.ID)
			return nil
		})
		if n > maxPageItems {
			t.Fatalf("%d items handed over, more than %d", n, maxPageItems)
		}
		if err == nil && len(next) > maxNextLink {
			t.Fatalf("nextLink of %d bytes accepted", len(next))
		}
	})
}

// FuzzFolderPage feeds arbitrary childFolders answers to the page parser.
func FuzzFolderPage(f *testing.F) {
	f.Add([]byte(`{"value":[{"id":"AQMk","displayName":"Endpoint","totalItemCount":3,"unreadItemCount":1,"childFolderCount":0}]}`))
	f.Add([]byte(`{"value":[{"displayName":7}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		n := 0
		_, _ = parsePage(bytes.NewReader(raw), maxPageItems, func(apiFolder) error { n++; return nil })
		if n > maxPageItems {
			t.Fatalf("%d folders handed over", n)
		}
	})
}

// FuzzCheckID: an accepted id is non-empty, bounded, valid UTF-8 without
// control characters, and not a path step.
func FuzzCheckID(f *testing.F) {
	for _, s := range []string{"AAMkAGI2TG93AAA=", "", ".", "..", "a/b", "a\x00b", "\xff", strings.Repeat("A", maxIDLen+1)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		if checkID(id) != nil {
			return
		}
		if id == "" || id == "." || id == ".." || len(id) > maxIDLen || !utf8.ValidString(id) || strings.ContainsAny(id, "\x00\r\n\x7f") {
			t.Fatalf("checkID accepted %q", id)
		}
	})
}

// FuzzRetryAfter: whatever Retry-After says, a retry waits between 0 and
// the longest wait we accept.
func FuzzRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "0.5", "120", "121", "1e300", "Inf", "NaN", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "", "   3  "} {
		f.Add(s)
	}
	c, err := New(Options{BaseURL: "https://graph.example.test/v1.0"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string) {
		d, retry := c.retryAfter(request{idempotent: true}, &Error{StatusCode: http.StatusTooManyRequests}, header, 0)
		if retry && (d < 0 || d > maxRetryAfter) {
			t.Fatalf("Retry-After %q: retry after %v", header, d)
		}
	})
}
