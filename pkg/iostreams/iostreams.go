// Package iostreams is where every command reads and writes: stdin,
// stdout, stderr, whether they are terminals, whether colour and prompts
// are allowed. Tests use Test() with buffers.
package iostreams

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
)

// IOStreams are a command's standard streams.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	noPrompt                       bool
	colorDisabled                  bool
	colorForced                    bool // CLICOLOR_FORCE: colour even when not a terminal
	stdinReader                    *bufio.Reader
	// readPassword reads a line without echo from a terminal.
	readPassword func() ([]byte, error)
}

// System returns the process's streams.
func System() *IOStreams {
	isTTY := func(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }
	s := &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY: isTTY(os.Stdin), stdoutTTY: isTTY(os.Stdout), stderrTTY: isTTY(os.Stderr),
		readPassword: func() ([]byte, error) { return term.ReadPassword(int(os.Stdin.Fd())) },
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	s.colorDisabled = noColor || os.Getenv("CLICOLOR") == "0" || os.Getenv("TERM") == "dumb"
	if os.Getenv("CLICOLOR_FORCE") != "" && os.Getenv("CLICOLOR_FORCE") != "0" {
		s.colorDisabled, s.colorForced = false, true
	}
	return s
}

// Test returns streams backed by buffers: (streams, stdin, stdout, stderr).
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, colorDisabled: true}, in, out, errOut
}

// SetTTY marks the streams as terminals (tests).
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// SetReadPassword replaces the hidden-input reader (tests).
func (s *IOStreams) SetReadPassword(f func() ([]byte, error)) { s.readPassword = f }

// SetNeverPrompt disables prompts (--no-input).
func (s *IOStreams) SetNeverPrompt(v bool) { s.noPrompt = v }

// IsStdoutTTY reports whether results go to a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether progress may be drawn.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// IsStdinTTY reports whether stdin is a terminal.
func (s *IOStreams) IsStdinTTY() bool { return s.stdinTTY }

// CanPrompt reports whether the user may be asked questions: stdin and
// stdout are terminals and prompting is not disabled.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stdoutTTY && !s.noPrompt }

// ColorEnabled reports whether colour may be used on stdout.
func (s *IOStreams) ColorEnabled() bool { return (s.stdoutTTY || s.colorForced) && !s.colorDisabled }

// ErrNoPrompt is returned by prompts when prompting is not possible.
var ErrNoPrompt = errors.New("cannot prompt: not a terminal or --no-input given")

func (s *IOStreams) reader() *bufio.Reader {
	if s.stdinReader == nil {
		s.stdinReader = bufio.NewReader(s.In)
	}
	return s.stdinReader
}

// Prompt asks for a line of text on a terminal; def is returned for an empty answer.
func (s *IOStreams) Prompt(question, def string) (string, error) {
	if !s.CanPrompt() {
		return "", ErrNoPrompt
	}
	if def != "" {
		fmt.Fprintf(s.ErrOut, "? %s (%s): ", question, def)
	} else {
		fmt.Fprintf(s.ErrOut, "? %s: ", question)
	}
	line, err := s.reader().ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("read answer: %w", err)
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return def, nil
	}
	return line, nil
}

// PromptSecret asks for a secret on a terminal without echoing it.
func (s *IOStreams) PromptSecret(question string) (string, error) {
	if !s.CanPrompt() {
		return "", ErrNoPrompt
	}
	fmt.Fprintf(s.ErrOut, "? %s: ", question)
	b, err := s.readPassword()
	fmt.Fprintln(s.ErrOut)
	if err != nil {
		return "", fmt.Errorf("read secret: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// ReadSecretStdin reads a secret from stdin: everything up to EOF, with a
// trailing newline removed (so `echo "$S" |` and `printf %s "$S" |` agree).
func (s *IOStreams) ReadSecretStdin() (string, error) {
	b, err := io.ReadAll(io.LimitReader(s.reader(), 1<<20))
	if err != nil {
		return "", fmt.Errorf("read secret from stdin: %w", err)
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// ReadLine reads one line from stdin (e.g. a pasted URL).
func (s *IOStreams) ReadLine() (string, error) {
	line, err := s.reader().ReadString('\n')
	if err != nil && line == "" {
		return "", err
	}
	return strings.TrimSpace(line), nil
}
