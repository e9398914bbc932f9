// Package cmdutil is the plumbing shared by mailport's commands: the
// factory of lazily built services, typed errors mapped to exit codes, and
// result printing (tables, --json).
package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/connect"
	"github.com/mailport/mailport/pkg/iostreams"
	"github.com/mailport/mailport/pkg/oauth"
	"github.com/mailport/mailport/pkg/secret"
)

// Version information, stamped by the release build.
var (
	Version = "dev"
	Commit  = "none"
	Date    = "unknown"
)

// Factory builds the services commands share. Expensive or fallible ones
// are funcs, so a command that does not need them never pays for them.
type Factory struct {
	IO     *iostreams.IOStreams
	Getenv func(string) string
	Now    func() time.Time

	// Global flags, bound by the root command.
	ConfigFlag  string
	SecretsFlag string
	JSON        bool
	NoInput     bool
	Verbose     bool
	TraceFile   string

	once sync.Once
	// strictConfig: warnings of the config are errors (config validate).
	strictConfig bool
	cfg          *config.Config
	cfgErr       error
	store        secret.Store
	openErr      error
	sOnce        sync.Once
	cOnce        sync.Once
	checkErr     error

	tOnce    sync.Once
	trace    *os.File
	traceErr error

	// One token manager per process: its token sources share each
	// account's token, so a refresh token is redeemed once per run.
	mOnce  sync.Once
	mgr    *oauth.Manager
	mgrErr error

	// HTTPClient, when set, is used for OAuth2 and Graph requests (tests).
	HTTPClient *http.Client
	// OpenBrowser, when set, replaces the browser opener (tests, demo).
	OpenBrowser func(url string) error

	// OpenStore opens a secret backend; replaceable in tests.
	OpenStore func(backend, configPath string) (secret.Store, error)
}

// NewFactory returns the factory for a real process.
func NewFactory() *Factory {
	return &Factory{IO: iostreams.System(), Getenv: os.Getenv, Now: time.Now}
}

// ConfigPath is --config, else $MAILPORT_CONFIG, else
// <user config dir>/mailport/config.yaml.
func (f *Factory) ConfigPath() (string, error) {
	p, _, err := f.configPath()
	return p, err
}

// configPath is ConfigPath and the way the path was named: "--config",
// "MAILPORT_CONFIG", or "" for the default location.
func (f *Factory) configPath() (path, namedBy string, err error) {
	if f.ConfigFlag != "" {
		return f.ConfigFlag, "--config", nil
	}
	if p := f.Getenv("MAILPORT_CONFIG"); p != "" {
		return p, "MAILPORT_CONFIG", nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", "", &ConfigError{Err: fmt.Errorf("no config location: %v; pass --config FILE or set MAILPORT_CONFIG", err)}
	}
	return filepath.Join(dir, "mailport", "config.yaml"), "", nil
}

// Config loads and validates the config once. Problems are a
// *ConfigError (exit 2). A file named by --config or MAILPORT_CONFIG that
// does not exist is such a problem: acting on an empty config would hide
// a typo in the path. A missing file at the default location is an empty
// config, so a first-time user gets "no accounts yet".
func (f *Factory) Config() (*config.Config, error) {
	return f.loadConfig(false)
}

// ConfigForAdd is Config for the commands that create the file (account
// add, token-config add): a missing file is an empty config wherever it is.
func (f *Factory) ConfigForAdd() (*config.Config, error) {
	return f.loadConfig(true)
}

// RequireConfigFile fails, as a *ConfigError, when there is no file at
// the config path, wherever the path came from (config validate).
func (f *Factory) RequireConfigFile() error {
	path, namedBy, err := f.configPath()
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if namedBy != "" {
			return missingConfig(path, namedBy)
		}
		return &ConfigError{Err: fmt.Errorf("no config at %s: add an account with `mailport account add` to create it, or name another file with --config or MAILPORT_CONFIG", path)}
	}
	return nil
}

func missingConfig(path, namedBy string) error {
	return &ConfigError{Err: fmt.Errorf("no config at %s: check --config or MAILPORT_CONFIG (%s names it; account add and token-config add create it)", path, namedBy)}
}

func (f *Factory) loadConfig(mayCreate bool) (*config.Config, error) {
	f.once.Do(func() {
		path, namedBy, err := f.configPath()
		if err != nil {
			f.cfgErr = err
			return
		}
		if namedBy != "" && !mayCreate {
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				f.cfgErr = missingConfig(path, namedBy)
				return
			}
		}
		c, err := config.Load(path)
		if err != nil {
			f.cfgErr = &ConfigError{Err: err}
			return
		}
		if b := strings.ToLower(strings.TrimSpace(f.chosenBackend())); slices.Contains(config.SecretStores, b) {
			// Recorded by the next save, so later commands without
			// --secrets or MAILPORT_SECRETS find the same secrets. An
			// unknown name is refused when the store is opened, and never
			// recorded.
			c.Secrets = b
		}
		if !f.strictConfig {
			for _, w := range c.Warnings() {
				fmt.Fprintf(f.IO.ErrOut, "warning: %s\n", w)
			}
		}
		f.cfg = c
	})
	return f.cfg, f.cfgErr
}

// ConfigStrict is Config for config validate: the problems other commands
// only warn about (config.Config.Warnings) are errors too.
func (f *Factory) ConfigStrict() (*config.Config, error) {
	f.strictConfig = true
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	if w := cfg.Warnings(); len(w) > 0 {
		return nil, &ConfigError{Err: w}
	}
	return cfg, nil
}

// chosenBackend is the secret store named by --secrets or
// $MAILPORT_SECRETS, "" when neither is set.
func (f *Factory) chosenBackend() string {
	if f.SecretsFlag != "" {
		return f.SecretsFlag
	}
	if b := f.Getenv("MAILPORT_SECRETS"); b != "" {
		if c, err := EnumSecrets.Normalize(b); err == nil {
			return c
		}
		return b // secret.Open names the allowed values
	}
	return ""
}

// SecretsBackend is --secrets, else $MAILPORT_SECRETS, else the config's
// secrets field, else keyring.
func (f *Factory) SecretsBackend() string {
	if b := f.chosenBackend(); b != "" {
		return b
	}
	if cfg, err := f.Config(); err == nil && cfg.Secrets != "" {
		return cfg.Secrets
	}
	return "keyring"
}

// Store opens the secret store once. An encrypted secrets file is
// opened here, so a missing or wrong passphrase or a damaged file ends the
// command before it starts its work, as a *ConfigError (exit 2).
func (f *Factory) Store() (secret.Store, error) {
	st, err := f.openStore()
	if err != nil {
		return nil, err
	}
	f.cOnce.Do(func() {
		if c, ok := st.(interface{ Check() error }); ok {
			if err := c.Check(); err != nil {
				f.checkErr = &ConfigError{Err: err}
			}
		}
	})
	if f.checkErr != nil {
		return nil, f.checkErr
	}
	return st, nil
}

// openStore opens the secret store once, without reading it.
func (f *Factory) openStore() (secret.Store, error) {
	f.sOnce.Do(func() {
		path, err := f.ConfigPath()
		if err != nil {
			f.openErr = err
			return
		}
		open := f.OpenStore
		if open == nil {
			open = func(backend, configPath string) (secret.Store, error) {
				return secret.OpenEnv(backend, configPath, f.Getenv, f.IO.ErrOut)
			}
		}
		f.store, f.openErr = open(f.SecretsBackend(), path)
		if f.openErr != nil {
			f.openErr = &ConfigError{Err: f.openErr}
		}
	})
	return f.store, f.openErr
}

// StoreDescription says which secret store the command uses, for status
// and config validate: "keyring", or for the file backend "file
// (encrypted, age scrypt)" or "file (plain)" (see secret.File.Describe)
// and the file's path. It does not read the store.
func (f *Factory) StoreDescription() (kind, path string, err error) {
	st, err := f.openStore()
	if err != nil {
		return "", "", err
	}
	if file, ok := st.(*secret.File); ok {
		return file.Describe(), file.Path(), nil
	}
	return st.Name(), "", nil
}

// Resolver gives secrets with environment overrides applied.
func (f *Factory) Resolver() (*secret.Resolver, error) {
	st, err := f.Store()
	if err != nil {
		return nil, err
	}
	return &secret.Resolver{Store: st, Getenv: f.Getenv}, nil
}

// OAuth returns the token manager over the loaded config and secrets,
// the same one on every call.
func (f *Factory) OAuth() (*oauth.Manager, error) {
	f.mOnce.Do(func() {
		cfg, err := f.Config()
		if err != nil {
			f.mgrErr = err
			return
		}
		r, err := f.Resolver()
		if err != nil {
			f.mgrErr = err
			return
		}
		f.mgr = &oauth.Manager{Config: cfg, Secrets: r, LockDir: filepath.Dir(cfg.Path), HTTP: f.HTTPClient, Now: f.Now, Warn: f.warn}
	})
	return f.mgr, f.mgrErr
}

// warn prints a warning on stderr.
func (f *Factory) warn(s string) { fmt.Fprintln(f.IO.ErrOut, "warning: "+s) }

// Trace is the --trace file, opened once (0600: a transcript is private
// even with secrets redacted); with -v and no --trace it is stderr. It is
// nil otherwise.
func (f *Factory) Trace() (io.Writer, error) {
	if f.TraceFile == "" {
		if f.Verbose {
			return f.IO.ErrOut, nil
		}
		return nil, nil
	}
	f.tOnce.Do(func() {
		f.trace, f.traceErr = os.OpenFile(f.TraceFile, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if f.traceErr != nil {
			f.traceErr = FlagErrorf("--trace: %v", f.traceErr)
		}
	})
	if f.trace == nil {
		return nil, f.traceErr
	}
	return f.trace, nil
}

// Close releases what the factory opened.
func (f *Factory) Close() {
	if f.trace != nil {
		f.trace.Close()
	}
}

// Opener connects accounts: endpoint, credentials and protocol adapter.
// timeout bounds each network step (0: the adapters' default).
func (f *Factory) Opener(timeout time.Duration) (*connect.Opener, error) {
	m, err := f.OAuth()
	if err != nil {
		return nil, err
	}
	trace, err := f.Trace()
	if err != nil {
		return nil, err
	}
	return &connect.Opener{Config: m.Config, Secrets: m.Secrets, OAuth: m, Trace: trace, Timeout: timeout, HTTPClient: f.HTTPClient}, nil
}
