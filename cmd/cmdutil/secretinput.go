package cmdutil

import (
	"errors"
	"fmt"

	"github.com/mailport/mailport/pkg/iostreams"
)

// SecretInput is how a command receives a secret: from stdin, from a
// named environment variable, or from a hidden prompt — never from a flag
// value, so it never lands in shell history or the process list.
type SecretInput struct {
	Stdin  bool   // --xxx-stdin
	EnvVar string // --xxx-env VAR
}

// Given reports whether the user supplied the secret by flag.
func (s SecretInput) Given() bool { return s.Stdin || s.EnvVar != "" }

// Read returns the secret. flagBase names the flags in messages (e.g.
// "client-secret"); prompt is used on a terminal when neither flag is set
// and required is true or the user may want to set one. ok is false when
// no secret was supplied (and none is required).
func (s SecretInput) Read(io *iostreams.IOStreams, getenv func(string) string, flagBase, prompt string, required bool) (value string, ok bool, err error) {
	switch {
	case s.Stdin && s.EnvVar != "":
		return "", false, FlagErrorf("use either --%s-stdin or --%s-env, not both", flagBase, flagBase)
	case s.Stdin:
		v, err := io.ReadSecretStdin()
		if err != nil {
			return "", false, err
		}
		if v == "" {
			return "", false, FlagErrorf("--%s-stdin was given but stdin was empty", flagBase)
		}
		return v, true, nil
	case s.EnvVar != "":
		v := getenv(s.EnvVar)
		if v == "" {
			return "", false, FlagErrorf("--%s-env %s: the environment variable %s is empty or not set", flagBase, s.EnvVar, s.EnvVar)
		}
		return v, true, nil
	}
	if !io.CanPrompt() {
		if required {
			return "", false, FlagErrorf("a %s is required: pipe it to --%s-stdin or name a variable with --%s-env", flagBase, flagBase, flagBase)
		}
		return "", false, nil
	}
	v, err := io.PromptSecret(prompt)
	if errors.Is(err, iostreams.ErrNoPrompt) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	if v == "" && required {
		return "", false, fmt.Errorf("no %s entered", flagBase)
	}
	return v, v != "", nil
}
