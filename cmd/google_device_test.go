package cmd

import "testing"

// Google's device flow does not allow the Gmail scope: authenticate
// refuses before contacting Google, exits 2 (a configuration choice, not
// a failure) and names the account and the way to the browser flow.
func TestGoogleDeviceFlowRefusedForGmail(t *testing.T) {
	e := newEnv(t)
	e.mustRun("GOCSPX-not-a-real-secret", "token-config", "add", "g", "--provider", "google", "--client-id", "1234-abc.apps.googleusercontent.com", "--client-secret-stdin")
	e.mustRun("", "token-config", "add", "gdev", "--provider", "google", "--client-id", "1234-abc.apps.googleusercontent.com", "--flow", "device")
	e.mustRun("", "account", "add", "gm", "--preset", "gmail", "--type", "inbound", "--login", "me@gmail.com", "--token-config", "g")
	e.mustRun("", "account", "add", "gm2", "--preset", "gmail", "--type", "inbound", "--login", "me@gmail.com", "--token-config", "gdev")
	const refusal = "error: the device flow of Google does not allow the Gmail scope https://mail.google.com/, which IMAP, POP and SMTP need: "
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"authenticate", "gm", "--device"}, refusal + "use the browser flow instead: `mailport authenticate gm` without --device (with --no-browser on a machine without a browser)\n"},
		{[]string{"authenticate", "gm2"}, refusal + "switch token config gdev to the browser flow with `mailport token-config edit gdev --flow user`, then run `mailport authenticate gm2` (with --no-browser on a machine without a browser)\n"},
	} {
		r := e.run("", tt.args...)
		if r.code != 2 || r.err != tt.want || r.out != "" {
			t.Errorf("%v: exit %d\nstdout %q\nstderr %q\nwant exit 2 and %q", tt.args, r.code, r.out, r.err, tt.want)
		}
	}
}
