// Package testbed runs real mail servers on loopback for tests: Dovecot 2.3
// (IMAP and POP3, each with implicit TLS and STARTTLS, passwords and an oauth2
// passdb that asks an introspection endpoint) and Postfix 3.7 (SMTP submission
// with STARTTLS and implicit TLS, SMTP AUTH through Dovecot, delivery into the
// Maildirs Dovecot serves).
//
// A test package starts one Bed for all its tests, usually through Shared:
//
//	var bed = &testbed.Shared{}
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		bed.Stop()
//		os.Exit(code)
//	}
//
//	func TestLogin(t *testing.T) {
//		b := bed.Get(t) // skips without Dovecot/Postfix unless MAILPORT_REQUIRE_REALSERVERS=1
//		...
//	}
//
// Everything lives in one temporary directory: configuration rendered from
// the templates in testdata/testbed, a throw-away CA and server certificate,
// the Maildirs, the Postfix queue and the server logs. Ports are picked free
// per run and the Dovecot instance name is unique, so runs in parallel and a
// system Dovecot or Postfix do not meet. Starting needs root (both servers
// switch users) and the Debian packages named by InstallHint.
package testbed

import (
	"cmp"
	"github.com/mailport/mailport/internal/testcert"

	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"
)

// InstallHint is what a machine without the servers needs.
const InstallHint = `apt-get install -y dovecot-core dovecot-imapd dovecot-pop3d postfix ` +
	`(preseed Postfix first: echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections)`

// RequireEnv, when set to 1, turns a skipped real-server test into a failure.
const RequireEnv = "MAILPORT_REQUIRE_REALSERVERS"

// KeepEnv, when set to 1, keeps the bed's directory after Stop for a look at
// the configuration, the Maildirs and the logs.
const KeepEnv = "MAILPORT_TESTBED_KEEP"

// DefaultUsers are the mailboxes a bed has when Options.Users is empty.
var DefaultUsers = []User{
	{Name: "alice@example.test", Password: "alice-password"},
	{Name: "bob@example.test", Password: "bob-password"},
}

// User is one mailbox: Name is its address and login (lower-case),
// Password its password for PLAIN, LOGIN and USER/PASS.
type User struct {
	Name     string
	Password string
}

// Options configure a bed. The zero value is usable: DefaultUsers, and a
// built-in introspection endpoint that refuses every token.
type Options struct {
	// IntrospectionURL is where Dovecot's oauth2 passdb checks XOAUTH2 and
	// OAUTHBEARER tokens. It is asked twice per authentication, both times
	// with GET and "Authorization: Bearer TOKEN": first as Dovecot's token
	// validation URL (with "access_token=TOKEN" added to the query), then
	// as its introspection URL. Refuse a token with a 4xx reply (Dovecot 2.3
	// turns an RFC 7662 200 {"active": false} into a temporary failure, not a
	// refusal); accept it with a 2xx JSON reply holding "active": true and
	// UsernameAttribute equal to the login.
	IntrospectionURL string
	// UsernameAttribute names the reply field holding the login
	// (default "username").
	UsernameAttribute string
	// Users are the mailboxes (default DefaultUsers).
	Users []User
	// Dir is where the bed's temporary directory is made (default os.TempDir()).
	// Keep it short: Unix socket paths are limited to 107 bytes.
	Dir string
	// CertNames are DNS names the servers' certificate holds besides
	// localhost, 127.0.0.1 and ::1 (for a fake DNS that names the bed).
	CertNames []string
	// NoPostfix starts Dovecot only, for packages that need no SMTP.
	NoPostfix bool
	// AuthFailureDelay is Dovecot's auth_failure_delay: how long it holds
	// the answer to a failed login (and so Postfix's, whose SASL is
	// Dovecot's), in whole seconds. 0, the default here, answers at once;
	// Dovecot's own default is 2s.
	AuthFailureDelay time.Duration
}

// Bed is a running Dovecot (and Postfix). Its fields are read-only.
type Bed struct {
	Host           string // 127.0.0.1
	IMAPSPort      int    // IMAP with implicit TLS
	IMAPPort       int    // IMAP with STARTTLS
	POP3SPort      int    // POP3 with implicit TLS
	POP3Port       int    // POP3 with STLS
	SMTPSPort      int    // SMTP submission with implicit TLS (0 with NoPostfix)
	SubmissionPort int    // SMTP submission with STARTTLS (0 with NoPostfix)
	// SevenBitPort is SMTP submission with STARTTLS whose EHLO offers
	// neither 8BITMIME nor DSN (smtpd_discard_ehlo_keywords), as older
	// servers do (0 with NoPostfix).
	SevenBitPort int

	Dir        string // the bed's temporary directory
	CAPEM      []byte // the CA that signed the servers' certificate (for 127.0.0.1 and localhost)
	CAFile     string // CAPEM as a file, for a tls_ca_file property
	DovecotLog string // Dovecot's log file
	PostfixLog string // Postfix's log file ("" with NoPostfix)
	StartTime  time.Duration

	users     map[string]User
	mailRoot  string
	mailUID   int
	mailGID   int
	dovecotCf string

	dovecot  *exec.Cmd
	postfix  *exec.Cmd
	etcDir   string
	exited   map[*exec.Cmd]chan struct{}
	introSrv *httptest.Server

	mu       sync.Mutex
	folders  map[string]string // user+"\x00"+folder -> Maildir path
	seq      int
	stopOnce sync.Once
}

// UnavailableError says the machine cannot run a bed (not root, or a server
// missing); Require skips on it unless RequireEnv is set.
type UnavailableError struct{ Reason string }

func (e *UnavailableError) Error() string {
	return "testbed: " + e.Reason + "; real-server tests need root and " + InstallHint
}

// Check reports, without starting anything, whether this machine can run a
// bed. The error is an *UnavailableError.
func Check() error {
	if os.Geteuid() != 0 {
		return &UnavailableError{Reason: "not running as root (Dovecot and Postfix switch users)"}
	}
	var missing []string
	for _, bin := range []struct{ path, pkg string }{
		{"dovecot", "dovecot-core"},
		{"/usr/lib/dovecot/imap", "dovecot-imapd"},
		{"/usr/lib/dovecot/pop3", "dovecot-pop3d"},
		{"doveadm", "dovecot-core"},
		{"postfix", "postfix"},
	} {
		if _, err := exec.LookPath(bin.path); err != nil {
			missing = append(missing, bin.pkg)
		}
	}
	for _, name := range []string{"dovecot", "dovenull", "postfix"} {
		if _, err := user.Lookup(name); err != nil && len(missing) == 0 {
			missing = append(missing, "the system user "+name)
		}
	}
	if _, err := user.LookupGroup("postdrop"); err != nil && len(missing) == 0 {
		missing = append(missing, "the group postdrop")
	}
	if len(missing) > 0 {
		return &UnavailableError{Reason: "missing " + strings.Join(dedupe(missing), ", ")}
	}
	return nil
}

// Start renders the configuration, starts Dovecot and Postfix and returns
// once every port accepts connections. Call Stop when done.
func Start(opts Options) (*Bed, error) {
	if err := Check(); err != nil {
		return nil, err
	}
	var lastErr error
	// A port picked free can be taken by someone else before the server binds
	// it; try again with fresh ports rather than fail the whole package.
	for attempt := 0; attempt < 3; attempt++ {
		b, err := start(opts)
		if err == nil {
			return b, nil
		}
		lastErr = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, lastErr
}

// ownerFile in a bed's directory holds the PID of the test binary that
// made it, so a later bed can tell a stale one (see sweepStale).
const ownerFile = "owner.pid"

var errPortTaken = errors.New("a port was taken before the server bound it")

func start(opts Options) (b *Bed, err error) {
	began := time.Now()
	if opts.UsernameAttribute == "" {
		opts.UsernameAttribute = "username"
	}
	if len(opts.Users) == 0 {
		opts.Users = DefaultUsers
	}
	users := map[string]User{}
	domains := map[string]bool{}
	var domainList []string
	for _, u := range opts.Users {
		name := strings.ToLower(u.Name)
		at := strings.LastIndexByte(name, '@')
		if at <= 0 || at == len(name)-1 || strings.ContainsAny(name, ": \t\r\n/") {
			return nil, fmt.Errorf("testbed: user %q must be an address like alice@example.test", u.Name)
		}
		if strings.ContainsAny(u.Password, ":\r\n") || u.Password == "" {
			return nil, fmt.Errorf("testbed: the password of %s must be non-empty without ':' or line breaks", u.Name)
		}
		users[name] = User{Name: name, Password: u.Password}
		if d := name[at+1:]; !domains[d] {
			domains[d] = true
			domainList = append(domainList, d)
		}
	}

	mailUser, err := user.Lookup("dovecot")
	if err != nil {
		return nil, &UnavailableError{Reason: "no dovecot system user"}
	}
	uid, _ := strconv.Atoi(mailUser.Uid)
	gid, _ := strconv.Atoi(mailUser.Gid)
	tmplDir, err := templateDir()
	if err != nil {
		return nil, err
	}

	sweepStale(cmp.Or(opts.Dir, os.TempDir()))
	dir, err := os.MkdirTemp(opts.Dir, "mpbed-")
	if err != nil {
		return nil, fmt.Errorf("testbed: make the bed's directory: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("testbed: %w", err)
	}
	b = &Bed{
		Host:     "127.0.0.1",
		Dir:      dir,
		users:    users,
		mailRoot: filepath.Join(dir, "mail"),
		mailUID:  uid,
		mailGID:  gid,
		exited:   map[*exec.Cmd]chan struct{}{},
		folders:  map[string]string{},
	}
	defer func() {
		if err != nil {
			b.Stop()
		}
	}()
	// Dovecot's and Postfix's unprivileged processes must reach sockets,
	// certificates and Maildirs below this directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testbed: %w", err)
	}

	certs, err := testcert.NewFor("mailport test bed", opts.CertNames...)
	if err != nil {
		return nil, err
	}
	b.CAPEM = certs.CAPEM
	b.CAFile = filepath.Join(dir, "ca.pem")
	certFile, keyFile := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	if err := writeCerts(certs, b.CAFile, certFile, keyFile); err != nil {
		return nil, err
	}

	if opts.IntrospectionURL == "" {
		b.introSrv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
		}))
		opts.IntrospectionURL = b.introSrv.URL + "/introspect"
	}

	nPorts := 7
	if opts.NoPostfix {
		nPorts = 4
	}
	ports, err := freePorts(nPorts)
	if err != nil {
		return nil, err
	}
	b.IMAPSPort, b.IMAPPort, b.POP3SPort, b.POP3Port = ports[0], ports[1], ports[2], ports[3]
	if !opts.NoPostfix {
		b.SMTPSPort, b.SubmissionPort, b.SevenBitPort = ports[4], ports[5], ports[6]
	}

	if err := b.makeMaildirs(); err != nil {
		return nil, err
	}

	suffix := randomHex(6)
	vars := map[string]any{
		"Dir":               dir,
		"InstanceName":      "mailport-testbed-" + suffix,
		"RunDir":            filepath.Join(dir, "run"),
		"StateDir":          filepath.Join(dir, "state"),
		"LogFile":           filepath.Join(dir, "dovecot.log"),
		"CertFile":          certFile,
		"KeyFile":           keyFile,
		"MailUser":          mailUser.Username,
		"MailGroup":         groupName(mailUser.Gid),
		"MailRoot":          b.mailRoot,
		"MailUID":           uid,
		"MailGID":           gid,
		"OAuth2File":        filepath.Join(dir, "dovecot-oauth2.conf.ext"),
		"PasswdFile":        filepath.Join(dir, "passwd"),
		"IntrospectionURL":  opts.IntrospectionURL,
		"TokenInfoURL":      tokenInfoURL(opts.IntrospectionURL),
		"UsernameAttribute": opts.UsernameAttribute,
		"IMAPPort":          b.IMAPPort,
		"IMAPSPort":         b.IMAPSPort,
		"POP3Port":          b.POP3Port,
		"POP3SPort":         b.POP3SPort,
		"AuthFailureDelay":  fmt.Sprintf("%ds", int(opts.AuthFailureDelay.Round(time.Second).Seconds())),
	}
	b.DovecotLog = vars["LogFile"].(string)
	b.dovecotCf = filepath.Join(dir, "dovecot.conf")
	for _, d := range []string{"run", "state"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("testbed: %w", err)
		}
	}
	if err := render(tmplDir, "dovecot.conf.tmpl", b.dovecotCf, vars); err != nil {
		return nil, err
	}
	if err := render(tmplDir, "dovecot-oauth2.conf.ext.tmpl", vars["OAuth2File"].(string), vars); err != nil {
		return nil, err
	}
	var passwd strings.Builder
	for _, u := range opts.Users {
		fmt.Fprintf(&passwd, "%s:{PLAIN}%s::::::\n", strings.ToLower(u.Name), u.Password)
	}
	// Dovecot's auth process runs as the dovecot user and reads this file on
	// every lookup, so its group must be able to read it.
	if err := writeOwned(vars["PasswdFile"].(string), passwd.String(), 0o640, 0, gid); err != nil {
		return nil, err
	}

	if err := b.startDovecot(); err != nil {
		return nil, err
	}

	if !opts.NoPostfix {
		b.etcDir = filepath.Join(dir, "postfix")
		b.PostfixLog = filepath.Join(dir, "postfix.log")
		pvars := map[string]any{
			"Dir":            dir,
			"EtcDir":         b.etcDir,
			"QueueDir":       filepath.Join(dir, "spool"),
			"DataDir":        filepath.Join(dir, "postfix-data"),
			"LogFile":        b.PostfixLog,
			"Domains":        strings.Join(domainList, ", "),
			"MailRoot":       b.mailRoot,
			"MailUID":        uid,
			"MailGID":        gid,
			"AuthSocket":     filepath.Join(dir, "run", "auth-client"),
			"CertFile":       certFile,
			"KeyFile":        keyFile,
			"SubmissionPort": b.SubmissionPort,
			"SMTPSPort":      b.SMTPSPort,
			"SevenBitPort":   b.SevenBitPort,
		}
		if err := b.startPostfix(tmplDir, pvars); err != nil {
			return nil, err
		}
	}

	var wait []int
	wait = append(wait, ports...)
	if err := b.waitPorts(wait, 10*time.Second); err != nil {
		return nil, err
	}
	b.StartTime = time.Since(began)
	return b, nil
}

// Stop stops Postfix and Dovecot and removes the bed's directory (kept when
// KeepEnv is 1). It is safe to call more than once and on a nil Bed.
func (b *Bed) Stop() {
	if b == nil {
		return
	}
	b.stopOnce.Do(func() {
		if b.postfix != nil {
			// "postfix stop" tells the master to end its children; the
			// foreground master then exits and Wait returns.
			stop := exec.Command("postfix", "-c", b.etcDir, "stop")
			if out, err := stop.CombinedOutput(); err != nil {
				b.appendLog(b.PostfixLog, "testbed: postfix stop: "+err.Error()+": "+string(out))
			}
			b.waitExit(b.postfix, 10*time.Second)
		}
		if b.dovecot != nil && b.dovecot.Process != nil {
			_ = b.dovecot.Process.Signal(syscall.SIGTERM)
			b.waitExit(b.dovecot, 10*time.Second)
		}
		if b.introSrv != nil {
			b.introSrv.Close()
		}
		if b.Dir != "" && os.Getenv(KeepEnv) != "1" {
			_ = os.RemoveAll(b.Dir)
		}
	})
}

// Users returns the bed's mailboxes, sorted by name.
func (b *Bed) Users() []User {
	out := make([]User, 0, len(b.users))
	for _, u := range b.users {
		out = append(out, u)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Addr is host:port for one of the bed's ports.
func (b *Bed) Addr(port int) string { return net.JoinHostPort(b.Host, strconv.Itoa(port)) }

func (b *Bed) startDovecot() error {
	logf, err := os.OpenFile(b.DovecotLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testbed: open Dovecot log: %w", err)
	}
	defer logf.Close()
	// -F keeps the master in the foreground as our child; startup errors
	// (a bad setting, a port in use) go to stderr before log_path applies.
	cmd := exec.Command("dovecot", "-F", "-c", b.dovecotCf)
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testbed: start dovecot: %w", err)
	}
	b.dovecot = cmd
	b.watch(cmd)
	return nil
}

func (b *Bed) startPostfix(tmplDir string, vars map[string]any) error {
	etc := vars["EtcDir"].(string)
	queue := vars["QueueDir"].(string)
	data := vars["DataDir"].(string)
	if err := os.Mkdir(etc, 0o755); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	pf, err := user.Lookup("postfix")
	if err != nil {
		return &UnavailableError{Reason: "no postfix system user"}
	}
	pfUID, _ := strconv.Atoi(pf.Uid)
	pfGID, _ := strconv.Atoi(pf.Gid)
	if err := makeQueue(queue, pfUID); err != nil {
		return err
	}
	if err := os.Mkdir(data, 0o700); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	if err := os.Chown(data, pfUID, pfGID); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	if err := render(tmplDir, "main.cf.tmpl", filepath.Join(etc, "main.cf"), vars); err != nil {
		return err
	}
	if err := render(tmplDir, "master.cf.tmpl", filepath.Join(etc, "master.cf"), vars); err != nil {
		return err
	}
	var vmailbox strings.Builder
	for name := range b.users {
		// Relative to virtual_mailbox_base; the trailing slash means Maildir.
		fmt.Fprintf(&vmailbox, "%s %s/Maildir/\n", name, name)
	}
	if err := os.WriteFile(filepath.Join(etc, "vmailbox"), []byte(vmailbox.String()), 0o644); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}

	// Postfix waits (in 300 ms steps, for seconds) while main.cf looks like
	// it is still being edited, i.e. was modified within the last second.
	past := time.Now().Add(-time.Minute)
	for _, f := range []string{"main.cf", "master.cf", "vmailbox"} {
		if err := os.Chtimes(filepath.Join(etc, f), past, past); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
	}

	logf, err := os.OpenFile(b.PostfixLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testbed: open Postfix log: %w", err)
	}
	defer logf.Close()
	// "check" creates the queue's subdirectories with their owners and
	// refuses a broken main.cf / master.cf before anything listens.

	check := exec.Command("postfix", "-c", etc, "check")
	check.Stdout, check.Stderr = logf, logf
	if err := check.Run(); err != nil {
		return fmt.Errorf("testbed: postfix check failed (%v); see %s:\n%s", err, b.PostfixLog, tail(b.PostfixLog, 20))
	}
	// The check just done is the one start-fg would repeat (a second or
	// more on a slow machine); quick-start tells postfix-script to skip it.
	if err := os.WriteFile(filepath.Join(queue, "quick-start"), nil, 0o644); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	cmd := exec.Command("postfix", "-c", etc, "start-fg")
	cmd.Stdout, cmd.Stderr = logf, logf
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testbed: start postfix: %w", err)
	}
	b.postfix = cmd
	b.watch(cmd)
	return nil
}

// makeQueue lays out Postfix's queue directory with the owners and modes
// of Debian's postfix-files, so "postfix check" finds nothing to create
// (creating it with post-install takes seconds).
func makeQueue(queue string, postfixUID int) error {
	postdrop, err := user.LookupGroup("postdrop")
	if err != nil {
		return &UnavailableError{Reason: "no postdrop group"}
	}
	postdropGID, _ := strconv.Atoi(postdrop.Gid)
	if err := os.Mkdir(queue, 0o755); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	dirs := []struct {
		name string
		uid  int
		gid  int
		mode os.FileMode
	}{
		{"pid", 0, 0, 0o755},
		{"maildrop", postfixUID, postdropGID, 0o730},
		{"public", postfixUID, postdropGID, 0o710},
	}
	for _, d := range []string{"active", "bounce", "corrupt", "defer", "deferred", "flush", "hold", "incoming", "private", "saved", "trace"} {
		dirs = append(dirs, struct {
			name string
			uid  int
			gid  int
			mode os.FileMode
		}{d, postfixUID, 0, 0o700})
	}
	for _, d := range dirs {
		path := filepath.Join(queue, d.name)
		if err := os.Mkdir(path, d.mode); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
		// Mkdir applies the umask; the modes above are exact.
		if err := os.Chmod(path, d.mode); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
		if err := os.Chown(path, d.uid, d.gid); err != nil {
			return fmt.Errorf("testbed: %w", err)
		}
	}
	return nil
}

// watch reaps a server process and records that it ended.
func (b *Bed) watch(cmd *exec.Cmd) {
	done := make(chan struct{})
	b.exited[cmd] = done
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
}

func (b *Bed) waitExit(cmd *exec.Cmd, timeout time.Duration) {
	done := b.exited[cmd]
	if done == nil {
		return
	}
	select {
	case <-done:
	case <-time.After(timeout):
		_ = cmd.Process.Kill()
		<-done
	}
}

func (b *Bed) hasExited(cmd *exec.Cmd) bool {
	if cmd == nil {
		return false
	}
	select {
	case <-b.exited[cmd]:
		return true
	default:
		return false
	}
}

// waitPorts polls until every port accepts a connection, failing early when a
// server has exited (its log says why).
func (b *Bed) waitPorts(ports []int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for _, p := range ports {
		for {
			conn, err := net.DialTimeout("tcp", b.Addr(p), 200*time.Millisecond)
			if err == nil {
				conn.Close()
				break
			}
			for name, cmd := range map[string]*exec.Cmd{"dovecot": b.dovecot, "postfix": b.postfix} {
				if b.hasExited(cmd) {
					log := b.DovecotLog
					if name == "postfix" {
						log = b.PostfixLog
					}
					text := tail(log, 20)
					if strings.Contains(text, "in use") {
						return fmt.Errorf("testbed: %s: %w", name, errPortTaken)
					}
					return fmt.Errorf("testbed: %s exited during startup; %s says:\n%s", name, log, text)
				}
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("testbed: port %d did not accept connections within %s; logs:\n%s\n%s",
					p, timeout, tail(b.DovecotLog, 20), tail(b.PostfixLog, 20))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return nil
}

func (b *Bed) makeMaildirs() error {
	if err := mkdirOwned(b.mailRoot, b.mailUID, b.mailGID); err != nil {
		return err
	}
	for name := range b.users {
		home := filepath.Join(b.mailRoot, name)
		if err := mkdirOwned(home, b.mailUID, b.mailGID); err != nil {
			return err
		}
		if err := makeMaildir(filepath.Join(home, "Maildir"), b.mailUID, b.mailGID); err != nil {
			return err
		}
	}
	return nil
}

func makeMaildir(path string, uid, gid int) error {
	for _, d := range []string{path, filepath.Join(path, "cur"), filepath.Join(path, "new"), filepath.Join(path, "tmp")} {
		if err := mkdirOwned(d, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

func mkdirOwned(path string, uid, gid int) error {
	if err := os.Mkdir(path, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("testbed: %w", err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	return nil
}

func writeOwned(path, content string, mode os.FileMode, uid, gid int) error {
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	if err := os.Chown(path, uid, gid); err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	return nil
}

// templateDir finds testdata/testbed from this source file, so tests in any
// package (each running in its own directory) find the same templates.
func templateDir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("testbed: cannot locate the package source to find testdata/testbed")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "testbed")
	if _, err := os.Stat(filepath.Join(dir, "dovecot.conf.tmpl")); err != nil {
		return "", fmt.Errorf("testbed: templates not found: %w", err)
	}
	return dir, nil
}

func render(tmplDir, name, dst string, vars map[string]any) error {
	t, err := template.New(name).Option("missingkey=error").ParseFiles(filepath.Join(tmplDir, name))
	if err != nil {
		return fmt.Errorf("testbed: parse template %s: %w", name, err)
	}
	f, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("testbed: %w", err)
	}
	if err := t.Execute(f, vars); err != nil {
		f.Close()
		return fmt.Errorf("testbed: render %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("testbed: write %s: %w", dst, err)
	}
	return nil
}

// tokenInfoURL is the introspection URL prepared for Dovecot's token
// validation request, which appends the token to it.
func tokenInfoURL(introspection string) string {
	if strings.Contains(introspection, "?") {
		return introspection + "&access_token="
	}
	return introspection + "?access_token="
}

// freePorts asks the kernel for n distinct free loopback ports, holding all
// of them open at once so none is handed out twice.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for i := 0; i < n; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("testbed: find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func groupName(gid string) string {
	if g, err := user.LookupGroupId(gid); err == nil {
		return g.Name
	}
	return gid
}

func randomHex(n int) string {
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return strconv.FormatInt(time.Now().UnixNano(), 16)
	}
	return hex.EncodeToString(buf)
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// tail returns the last n lines of a log file ("" when unreadable).
func tail(path string, n int) string {
	if path == "" {
		return ""
	}
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		if _, err := f.Seek(st.Size()-max, io.SeekStart); err != nil {
			return ""
		}
	}
	data, err := io.ReadAll(f)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func (b *Bed) appendLog(path, line string) {
	if path == "" {
		return
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintln(f, line)
}
