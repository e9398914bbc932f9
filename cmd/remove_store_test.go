package cmd

import (
	"errors"
	"testing"

	"github.com/mailport/mailport/pkg/secret"
)

// lockedStore refuses to delete, as a locked keyring does.
type lockedStore struct{ secret.Store }

func (lockedStore) Delete(string) error { return errors.New("the keyring is locked") }

// When the secret store cannot delete, remove changes nothing: the account
// or token config stays configured with its secrets, ready to be removed
// again, instead of secrets orphaned behind a config that forgot them.
func TestRemoveWithAnUnreachableStoreChangesNothing(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	e.mustRun("", "account", "add", "other", "--preset", "office365", "--type", "inbound", "--login", "o@contoso.com", "--token-config", "ms365")
	e.store.Set(secret.TokenKey("support"), `{"access_token":"x"}`)
	e.mustRun("", "account", "remove", "other", "--yes")
	before := e.configText()
	e.wrapStore = func(s secret.Store) secret.Store { return lockedStore{s} }
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"account", "remove", "support", "--yes"}, "error: account \"support\" is not removed: its secrets could not be deleted from the memory: the keyring is locked\n"},
	} {
		r := e.run("", tt.args...)
		if r.code != 1 || r.err != tt.want {
			t.Errorf("%v: exit %d stderr %q, want 1 and %q", tt.args, r.code, r.err, tt.want)
		}
	}
	if e.configText() != before {
		t.Errorf("the config changed:\n%s", e.configText())
	}
	if _, err := e.store.Get(secret.TokenKey("support")); err != nil {
		t.Errorf("the token is gone: %v", err)
	}

	// With the store back, both go.
	e.wrapStore = nil
	e.mustRun("", "account", "remove", "support", "--yes")
	e.wrapStore = func(s secret.Store) secret.Store { return lockedStore{s} }
	want := "error: token config \"ms365\" is not removed: its client secret could not be deleted from the memory: the keyring is locked\n"
	if r := e.run("", "token-config", "remove", "ms365", "--yes"); r.code != 1 || r.err != want {
		t.Errorf("token-config remove: exit %d stderr %q, want 1 and %q", r.code, r.err, want)
	}
	if _, err := e.store.Get(secret.ClientSecretKey("ms365")); err != nil {
		t.Errorf("the client secret is gone: %v", err)
	}
	e.wrapStore = nil
	e.mustRun("", "token-config", "remove", "ms365", "--yes")
}
