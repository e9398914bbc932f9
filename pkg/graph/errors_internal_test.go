package graph

import (
	"errors"
	"testing"
)

// An operation wraps this package's own "graph: ..." errors without
// saying "graph:" twice, and the cause stays reachable.
func TestWrapfSaysGraphOnce(t *testing.T) {
	cause := &Error{StatusCode: 404, Code: "ErrorItemNotFound", Message: "The specified object was not found in the store."}
	err := wrapf(cause, "open mailbox %s", "shared@contoso.com")
	want := "graph: open mailbox shared@contoso.com: HTTP 404 ErrorItemNotFound: The specified object was not found in the store."
	if err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	var ge *Error
	if !errors.As(err, &ge) || ge != cause {
		t.Errorf("errors.As lost the cause: %v", err)
	}
	if got := wrapf(errors.New("disk full"), "spool message").Error(); got != "graph: spool message: disk full" {
		t.Errorf("plain cause: %q", got)
	}
}
