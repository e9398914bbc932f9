package cmdutil

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mailport/mailport/pkg/iostreams"
)

// ErrDeclined means the user answered no to a confirmation; nothing was
// changed. It exits 1 without a further message.
var ErrDeclined = fmt.Errorf("not confirmed: %w", ErrSilent)

// Confirm asks question with [y/N] on the terminal (stderr) and reports
// whether the answer was yes. Without a terminal, or under --no-input, it
// returns a FlagError telling the user to pass flag (e.g. --yes) instead;
// what describes the action for that sentence ("remove account \"x\"").
func Confirm(ios *iostreams.IOStreams, question, what, flag string) (bool, error) {
	if !ios.CanPrompt() {
		return false, FlagErrorf("refusing to %s without confirmation: pass %s (stdin is not a terminal or --no-input is set)", what, flag)
	}
	fmt.Fprintf(ios.ErrOut, "? %s [y/N] ", question)
	line, err := ios.ReadLine()
	if err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("read answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}
