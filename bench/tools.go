package main

import (
	"embed"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"text/template"
)

//go:embed templates/*.tmpl
var templates embed.FS

// Server is where the tools fetch from, as the templates see it.
type Server struct {
	Host     string
	IMAPPort int
	POP3Port int
	User     string
	Password string
	TLS      bool // implicit TLS ports for every tool; plain otherwise
	CAFile   string
}

// Job is one tool fetching over one protocol into one format.
type Job struct {
	Tool     string // mailport, mbsync, fetchmail, getmail
	Protocol string // imap, pop3
	Format   string // maildir, eml
	// Prepended are the header fields (lower case) the tool documents that
	// it adds at the top of a message; Check removes them before comparing.
	Prepended []string
	// Appended are the fields it adds at the end of the header.
	Appended []string
	// command builds the command for one run writing below dir (fresh and
	// empty); out is the directory the messages land in.
	command func(dir string) (cmd *exec.Cmd, out string, err error)
}

// Name is e.g. "mailport imap/eml".
func (j Job) Name() string { return j.Tool + " " + j.Protocol + "/" + j.Format }

// Env is what building the jobs needs. Jobs keep a pointer to it, so the
// server's ports can be filled in after the jobs were checked.
type Env struct {
	Server   Server
	Mailport string // the mailport binary
	Self     string // this program, which serves as fetchmail's MDA
}

// Jobs returns the jobs for the tools named in want (all when empty),
// mailport first. A peer that is not installed is an error naming its
// package.
func Jobs(e *Env, want []string) ([]Job, error) {
	all := []Job{
		{Tool: "mailport", Protocol: "imap", Format: "maildir", command: e.mailport("imap", "maildir")},
		{Tool: "mailport", Protocol: "imap", Format: "eml", command: e.mailport("imap", "eml")},
		{Tool: "mailport", Protocol: "pop3", Format: "maildir", command: e.mailport("pop3", "maildir")},
		// mbsync appends X-TUID: to the header of every message it
		// propagates, to find it again on the other side.
		{Tool: "mbsync", Protocol: "imap", Format: "maildir", command: e.mbsync, Appended: []string{"x-tuid"}},
		{Tool: "fetchmail", Protocol: "pop3", Format: "maildir", command: e.fetchmail},
		// getmail documents adding Delivered-To:, Received: (both switched
		// off in its rc) and Return-Path: at the top of each message.
		{Tool: "getmail", Protocol: "imap", Format: "maildir", command: e.getmail("imap"),
			Prepended: []string{"return-path", "delivered-to", "received"}},
		{Tool: "getmail", Protocol: "pop3", Format: "maildir", command: e.getmail("pop3"),
			Prepended: []string{"return-path", "delivered-to", "received"}},
	}
	// fetchmail adds Received: unless told "invisible" (it is), and may
	// add X-Fetchmail-Warning: for a message it had to mangle.
	all[4].Prepended = []string{"received", "x-fetchmail-warning"}
	if len(want) == 0 {
		return all, nil
	}
	var out []Job
	for _, j := range all {
		for _, w := range want {
			if w == j.Tool || w == j.Tool+"/"+j.Protocol || w == j.Tool+"/"+j.Protocol+"/"+j.Format {
				out = append(out, j)
				break
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-tools %q names none of mailport, mbsync, fetchmail, getmail (optionally /imap or /pop3)", strings.Join(want, ","))
	}
	return out, nil
}

// packages name the Debian package of each peer for error messages.
var packages = map[string]string{"mbsync": "isync", "fetchmail": "fetchmail", "getmail": "getmail6", TimeProgram: "time"}

// Lookup finds a peer's program or says which package to install.
func Lookup(tool string) (string, error) {
	p, err := exec.LookPath(tool)
	if err != nil {
		return "", fmt.Errorf("%s is not installed: run MAILPORT_BENCH=1 scripts/install-deps.sh (Debian package %s)", tool, packages[tool])
	}
	return p, nil
}

func render(name, dst string, data any, mode os.FileMode) error {
	t, err := template.New(name).Option("missingkey=error").ParseFS(templates, "templates/"+name)
	if err != nil {
		return fmt.Errorf("parse template %s: %w", name, err)
	}
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	if err := t.Execute(f, data); err != nil {
		f.Close()
		return fmt.Errorf("render %s: %w", name, err)
	}
	return f.Close()
}

// peerData is what the peer templates see: the server plus the run's
// directory, protocol and port.
type peerData struct {
	Server
	Dir      string
	Port     int
	Protocol string
	MDA      string
	// DeliverUser is who getmail delivers as when run as root.
	DeliverUser string
}

// WriteMailportConfig writes the config the mailport jobs use.
func WriteMailportConfig(path string, s Server) error {
	return render("mailport.yaml.tmpl", path, s, 0o600)
}

func (e *Env) mailport(protocol, format string) func(string) (*exec.Cmd, string, error) {
	return func(dir string) (*exec.Cmd, string, error) {
		cfg := filepath.Join(dir, "config.yaml")
		if err := WriteMailportConfig(cfg, e.Server); err != nil {
			return nil, "", err
		}
		out := filepath.Join(dir, "out")
		cmd := exec.Command(e.Mailport, "--config", cfg, "--secrets", "file",
			"fetch", "bench-"+protocol, "--to", out, "--format", format)
		cmd.Env = append(os.Environ(),
			"MAILPORT_PASSWORD_BENCH_"+strings.ToUpper(protocol)+"="+e.Server.Password,
			"NO_COLOR=1")
		return cmd, out, nil
	}
}

func (e *Env) mbsync(dir string) (*exec.Cmd, string, error) {
	bin, err := Lookup("mbsync")
	if err != nil {
		return nil, "", err
	}
	rc := filepath.Join(dir, "mbsyncrc")
	d := peerData{Server: e.Server, Dir: dir, Port: e.Server.IMAPPort, Protocol: "imap"}
	if err := render("mbsyncrc.tmpl", rc, d, 0o600); err != nil {
		return nil, "", err
	}
	return exec.Command(bin, "-q", "-c", rc, "bench"), filepath.Join(dir, "inbox"), nil
}

func (e *Env) fetchmail(dir string) (*exec.Cmd, string, error) {
	bin, err := Lookup("fetchmail")
	if err != nil {
		return nil, "", err
	}
	out := filepath.Join(dir, "inbox")
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(out, sub), 0o700); err != nil {
			return nil, "", err
		}
	}
	rc := filepath.Join(dir, "fetchmailrc")
	d := peerData{Server: e.Server, Dir: dir, Port: e.Server.POP3Port, Protocol: "pop3",
		MDA: e.Self + " mda " + out}
	if err := render("fetchmailrc.tmpl", rc, d, 0o600); err != nil {
		return nil, "", err
	}
	cmd := exec.Command(bin, "--nodetach", "--fetchmailrc", rc, "--idfile", filepath.Join(dir, "fetchids"),
		"--pidfile", filepath.Join(dir, "fetchmail.pid"))
	cmd.Env = append(os.Environ(), "FETCHMAILHOME="+dir, "HOME="+dir)
	return cmd, out, nil
}

func (e *Env) getmail(protocol string) func(string) (*exec.Cmd, string, error) {
	return func(dir string) (*exec.Cmd, string, error) {
		bin, err := Lookup("getmail")
		if err != nil {
			return nil, "", err
		}
		out := filepath.Join(dir, "inbox")
		for _, sub := range []string{"tmp", "new", "cur"} {
			if err := os.MkdirAll(filepath.Join(out, sub), 0o700); err != nil {
				return nil, "", err
			}
		}
		// getmail switches to an unprivileged user to deliver, who must
		// reach and write the Maildir.
		nobody, err := user.Lookup("nobody")
		if err != nil {
			return nil, "", fmt.Errorf("getmail delivers as the user nobody, which does not exist: %w", err)
		}
		uid, _ := strconv.Atoi(nobody.Uid)
		gid, _ := strconv.Atoi(nobody.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			return nil, "", err
		}
		for _, sub := range []string{"", "tmp", "new", "cur"} {
			if err := os.Chown(filepath.Join(out, sub), uid, gid); err != nil {
				return nil, "", err
			}
		}
		port := e.Server.IMAPPort
		if protocol == "pop3" {
			port = e.Server.POP3Port
		}
		rc := filepath.Join(dir, "getmailrc")
		d := peerData{Server: e.Server, Dir: dir, Port: port, Protocol: protocol, DeliverUser: nobody.Username}
		if err := render("getmailrc.tmpl", rc, d, 0o600); err != nil {
			return nil, "", err
		}
		cmd := exec.Command(bin, "--getmaildir", dir, "--rcfile", rc, "--quiet")
		cmd.Env = append(os.Environ(), "HOME="+dir)
		return cmd, out, nil
	}
}
