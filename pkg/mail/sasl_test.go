package mail

import "testing"

// OAuthBearerPayload is the RFC 7628 initial response, the same bytes the
// OAUTHBEARER client sends, with the GS2 header's escapes.
func TestOAuthBearerPayloadIsTheWireFormat(t *testing.T) {
	got := string(OAuthBearerPayload("a@b.c", "imap.example.com", 993, "tok"))
	if want := "n,a=a@b.c,\x01host=imap.example.com\x01port=993\x01auth=Bearer tok\x01\x01"; got != want {
		t.Fatalf("payload %q, want %q", got, want)
	}
	_, ir, err := NewOAuthBearerClient("a@b.c", "imap.example.com", 993, "tok").Start()
	if err != nil || string(ir) != got {
		t.Fatalf("the OAUTHBEARER client sends %q (%v), the payload is %q", ir, err, got)
	}
	if got := string(OAuthBearerPayload("x,y=z@b.c", "", 0, "tok")); got != "n,a=x=2Cy=3Dz@b.c,\x01auth=Bearer tok\x01\x01" {
		t.Fatalf("escaped payload without host and port: %q", got)
	}
}
