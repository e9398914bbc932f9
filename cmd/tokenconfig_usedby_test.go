package cmd

import (
	"encoding/json"
	"slices"
	"testing"
)

// add --force and edit print the token config as show does, used_by
// included (they printed [] whatever used it).
func TestTokenConfigAddAndEditJSONNameTheirUsers(t *testing.T) {
	e := newEnv(t)
	e.setupMicrosoft()
	for _, args := range [][]string{
		{"token-config", "edit", "ms365", "--secret-expires", "2027-01-01", "--json"},
		{"token-config", "add", "ms365", "--force", "--provider", "microsoft", "--tenant", "fabrikam-support.net", "--client-id", clientID, "--json"},
		{"token-config", "show", "ms365", "--json"},
	} {
		r := e.mustRun("", args...)
		var d struct {
			UsedBy []string `json:"used_by"`
		}
		if err := json.Unmarshal([]byte(r.out), &d); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, r.out)
		}
		if !slices.Equal(d.UsedBy, []string{"support"}) {
			t.Errorf("%v: used_by %v, want [support]", args, d.UsedBy)
		}
	}
}
