package secret

import (
	"errors"
	"testing"
)

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestEnvName(t *testing.T) {
	tests := []struct{ prefix, name, want string }{
		{EnvPasswordPrefix, "support-desk", "MAILPORT_PASSWORD_SUPPORT_DESK"},
		{EnvClientSecretPrefix, "ms365", "MAILPORT_CLIENT_SECRET_MS365"},
		{EnvRefreshTokenPrefix, "help.desk_2", "MAILPORT_REFRESH_TOKEN_HELP_DESK_2"},
	}
	for _, tt := range tests {
		if got := EnvName(tt.prefix, tt.name); got != tt.want {
			t.Errorf("EnvName(%q, %q) = %q, want %q", tt.prefix, tt.name, got, tt.want)
		}
	}
}

func TestResolverEnvWins(t *testing.T) {
	store := NewMemory()
	if err := store.Set(PasswordKey("support-desk"), "from-store"); err != nil {
		t.Fatal(err)
	}
	if err := store.Set(ClientSecretKey("ms365"), "store-secret"); err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Store: store, Getenv: envMap(map[string]string{
		"MAILPORT_PASSWORD_SUPPORT_DESK": "from-env",
		"MAILPORT_CLIENT_SECRET_MS365":   "env-secret",
	})}

	if v, src, err := r.Password("support-desk"); err != nil || v != "from-env" || src != SourceEnv {
		t.Errorf("Password = %q, %q, %v; want from-env, environment", v, src, err)
	}
	if v, src, err := r.ClientSecret("ms365"); err != nil || v != "env-secret" || src != SourceEnv {
		t.Errorf("ClientSecret = %q, %q, %v; want env-secret, environment", v, src, err)
	}
	// Overrides are read-only: the store keeps its own value.
	if v, _ := store.Get(PasswordKey("support-desk")); v != "from-store" {
		t.Errorf("store value changed to %q", v)
	}
}

func TestResolverStoreWhenNoEnv(t *testing.T) {
	store := NewMemory()
	if err := store.Set(PasswordKey("support-desk"), "from-store"); err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Store: store, Getenv: envMap(map[string]string{
		"MAILPORT_PASSWORD_SUPPORT_DESK": "", // set but empty counts as unset
		"MAILPORT_PASSWORD_OTHER":        "not ours",
	})}
	v, src, err := r.Password("support-desk")
	if err != nil || v != "from-store" || src != "memory" {
		t.Errorf("Password = %q, %q, %v; want from-store from the store (memory)", v, src, err)
	}
}

func TestResolverNotSet(t *testing.T) {
	r := &Resolver{Store: NewMemory(), Getenv: envMap(nil)}
	v, src, err := r.Password("support-desk")
	if !IsNotFound(err) || v != "" || src != SourceNotSet {
		t.Errorf("Password = %q, %q, %v; want not set", v, src, err)
	}
	if src, err := r.TokenSource("support-desk"); err != nil || src != SourceNotSet {
		t.Errorf("TokenSource = %q, %v; want not set and no error", src, err)
	}
	if _, ok := r.RefreshTokenOverride("support-desk"); ok {
		t.Error("RefreshTokenOverride reported an override that is not set")
	}
}

func TestResolverTokenSource(t *testing.T) {
	store := NewMemory()
	if err := store.Set(TokenKey("support-desk"), `{"refresh_token":"stored"}`); err != nil {
		t.Fatal(err)
	}
	r := &Resolver{Store: store, Getenv: envMap(nil)}
	if src, err := r.TokenSource("support-desk"); err != nil || src != "memory" {
		t.Errorf("TokenSource = %q, %v; want the store", src, err)
	}

	r.Getenv = envMap(map[string]string{"MAILPORT_REFRESH_TOKEN_SUPPORT_DESK": "0.AXenv"})
	if src, err := r.TokenSource("support-desk"); err != nil || src != SourceEnv {
		t.Errorf("TokenSource = %q, %v; want environment", src, err)
	}
	if v, ok := r.RefreshTokenOverride("support-desk"); !ok || v != "0.AXenv" {
		t.Errorf("RefreshTokenOverride = %q, %v", v, ok)
	}
}

// A store that fails (e.g. the keyring timed out) is an error, not "not set",
// unless the environment answers first.
func TestResolverStoreFailure(t *testing.T) {
	r := &Resolver{Store: &Keyring{API: &errAPI{err: errors.New("boom")}}, Getenv: envMap(nil)}
	_, src, err := r.Password("support-desk")
	if err == nil || IsNotFound(err) || src != SourceNotSet {
		t.Errorf("Password = %q, %v; want the store's error", src, err)
	}
	if _, err := r.TokenSource("support-desk"); err == nil || IsNotFound(err) {
		t.Errorf("TokenSource err = %v; want the store's error", err)
	}

	r.Getenv = envMap(map[string]string{"MAILPORT_PASSWORD_SUPPORT_DESK": "env"})
	if v, src, err := r.Password("support-desk"); err != nil || v != "env" || src != SourceEnv {
		t.Errorf("with the override: %q, %q, %v", v, src, err)
	}
}

// The real environment, as commands use it (Getenv nil).
func TestResolverOSEnvironment(t *testing.T) {
	t.Setenv("MAILPORT_PASSWORD_SUPPORT_DESK", "from-os-env")
	r := &Resolver{Store: NewMemory()}
	if v, src, err := r.Password("support-desk"); err != nil || v != "from-os-env" || src != SourceEnv {
		t.Errorf("Password = %q, %q, %v", v, src, err)
	}
}
