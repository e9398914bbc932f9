package cmdutil

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mailport/mailport/pkg/config"
	"github.com/mailport/mailport/pkg/secret"
)

// An Enum is the set of values a flag takes: the canonical values, stored
// as given, and aliases a user may type instead. Matching ignores case,
// surrounding blanks, and the difference between '-' and '_'.
type Enum struct {
	Values  []string
	Aliases map[string]string // alias -> canonical value
	// Descriptions, when set, explain values in shell completion.
	Descriptions map[string]string
}

// The enums of mailport's flags. Every flag that takes one of a fixed set
// of words is bound with EnumVar to one of these.
var (
	EnumType = Enum{Values: config.Types, Aliases: map[string]string{
		"in": config.Inbound, "incoming": config.Inbound, "out": config.Outbound, "outgoing": config.Outbound,
	}}
	EnumProtocol = Enum{Values: config.Protocols, Aliases: map[string]string{
		"imaps": config.IMAP, "pop": config.POP3, "pop3s": config.POP3, "pops": config.POP3, "smtps": config.SMTP,
		"submission": config.SMTP, "graph": config.Microsoft, "msgraph": config.Microsoft, "microsoft_graph": config.Microsoft,
		"ms_graph": config.Microsoft, "ms": config.Microsoft,
	}, Descriptions: map[string]string{config.Microsoft: "Microsoft Graph"}}
	EnumEncryption = Enum{Values: config.Encryptions, Aliases: map[string]string{
		"tls": config.SSL, "implicit": config.SSL, "implicit_tls": config.SSL, "ssl/tls": config.SSL, "ssl_tls": config.SSL,
		"start_tls": config.StartTLS, "explicit": config.StartTLS, "explicit_tls": config.StartTLS,
		"plain": config.None, "off": config.None, "no": config.None, "clear": config.None, "plaintext": config.None,
		"insecure": config.None,
	}, Descriptions: map[string]string{config.SSL: "TLS from the first byte", config.StartTLS: "upgrade with STARTTLS", config.None: "no encryption"}}
	EnumAuth = Enum{Values: config.AuthTypes, Aliases: map[string]string{
		"password": config.AuthBasic, "plain": config.AuthBasic, "login": config.AuthBasic,
		"oauth": config.AuthOAuth2, "xoauth2": config.AuthOAuth2, "oauthbearer": config.AuthOAuth2, "modern": config.AuthOAuth2,
	}, Descriptions: map[string]string{config.AuthBasic: "password", config.AuthOAuth2: "token from a token config"}}
	EnumOnReceived = Enum{Values: config.OnReceived, Aliases: map[string]string{
		"collect": config.OnReceivedHold, "file": config.OnReceivedHold, "store": config.OnReceivedHold,
		"run": config.OnReceivedExec, "command": config.OnReceivedExec, "cmd": config.OnReceivedExec,
	}}
	EnumPreset = Enum{Values: config.Presets, Aliases: map[string]string{
		"o365": config.PresetOffice365, "m365": config.PresetOffice365, "microsoft365": config.PresetOffice365,
		"microsoft_365": config.PresetOffice365, "office_365": config.PresetOffice365,
		"google": config.PresetGmail, "googlemail": config.PresetGmail, "google_workspace": config.PresetGmail,
		"outlook.com": config.PresetOutlook, "hotmail": config.PresetOutlook, "live": config.PresetOutlook,
	}}
	EnumProvider = Enum{Values: config.Providers, Aliases: map[string]string{
		"ms": config.ProviderMicrosoft, "azure": config.ProviderMicrosoft, "entra": config.ProviderMicrosoft,
		"office365": config.ProviderMicrosoft, "m365": config.ProviderMicrosoft, "microsoft365": config.ProviderMicrosoft,
		"gmail": config.ProviderGoogle, "other": config.ProviderGeneric, "custom": config.ProviderGeneric,
	}}
	EnumFlow = Enum{Values: config.Flows, Aliases: map[string]string{
		"browser": config.FlowUser, "interactive": config.FlowUser, "code": config.FlowUser,
		"auth_code": config.FlowUser, "authorization_code": config.FlowUser,
		"device_code": config.FlowDevice, "devicecode": config.FlowDevice,
		"clientcredentials": config.FlowClientCredentials, "credentials": config.FlowClientCredentials,
		"app": config.FlowClientCredentials, "app_only": config.FlowClientCredentials,
		"serviceaccount": config.FlowServiceAccount, "jwt_bearer": config.FlowServiceAccount,
	}, Descriptions: map[string]string{config.FlowUser: "browser sign-in", config.FlowDevice: "code entered on another device", config.FlowClientCredentials: "app-only",
		config.FlowServiceAccount: "Google service account with domain-wide delegation"}}
	EnumFor = Enum{Values: []string{"imap", "pop3", "smtp", "graph"}, Aliases: map[string]string{
		"imaps": "imap", "pop": "pop3", "pop3s": "pop3", "smtps": "smtp", "submission": "smtp",
		"microsoft": "graph", "msgraph": "graph", "microsoft_graph": "graph",
	}}
	EnumSecrets = Enum{Values: secret.Backends, Aliases: map[string]string{
		"keychain": secret.BackendKeyring, "os": secret.BackendKeyring, "secret_service": secret.BackendKeyring,
		"plaintext": secret.BackendFile, "plain": secret.BackendFile,
	}, Descriptions: map[string]string{secret.BackendKeyring: "the OS keyring", secret.BackendFile: "a plain-text file beside the config"}}
	EnumFormat = Enum{Values: []string{"eml", "maildir"}, Aliases: map[string]string{
		".eml": "eml", "rfc822": "eml", "mail_dir": "maildir",
	}, Descriptions: map[string]string{"eml": "one .eml file per message", "maildir": "Maildir new/ and cur/"}}
)

func enumKey(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "-", "_")
}

// Normalize returns the canonical value for v, or an error listing the
// allowed values.
func (e Enum) Normalize(v string) (string, error) {
	k := enumKey(v)
	for _, c := range e.Values {
		if enumKey(c) == k {
			return c, nil
		}
	}
	for alias, c := range e.Aliases {
		if enumKey(alias) == k {
			return c, nil
		}
	}
	return "", fmt.Errorf("%q is not one of %s", v, strings.Join(e.Values, ", "))
}

// Complete offers the canonical values starting with toComplete, each
// with its description where it has one.
func (e Enum) Complete(toComplete string) []string {
	var out []string
	for _, v := range e.Values {
		if !strings.HasPrefix(v, strings.ToLower(toComplete)) {
			continue
		}
		if d := e.Descriptions[v]; d != "" {
			v += "\t" + d
		}
		out = append(out, v)
	}
	return out
}

// enumValue is a pflag.Value that stores the canonical value of an Enum.
type enumValue struct {
	dst  *string
	enum Enum
}

func (v *enumValue) String() string { return *v.dst }

func (v *enumValue) Set(s string) error {
	c, err := v.enum.Normalize(s)
	if err != nil {
		return err
	}
	*v.dst = c
	return nil
}

// Type names the values in help, e.g. "ssl|starttls|none".
func (v *enumValue) Type() string { return strings.Join(v.enum.Values, "|") }

// EnumVar defines a flag on fs whose value is one of e, stored in
// canonical form in dst, and registers its shell completion on cmd.
func EnumVar(cmd *cobra.Command, fs *pflag.FlagSet, dst *string, name, def, usage string, e Enum) {
	*dst = def
	fs.Var(&enumValue{dst: dst, enum: e}, name, usage)
	RegisterEnumCompletion(cmd, name, e)
}

// RegisterEnumCompletion completes the flag name of cmd with e's values.
func RegisterEnumCompletion(cmd *cobra.Command, name string, e Enum) {
	RegisterFlagCompletion(cmd, name, func(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
		return e.Complete(toComplete), cobra.ShellCompDirectiveNoFileComp
	})
}

// IsEnumFlag reports whether fl was defined with EnumVar.
func IsEnumFlag(fl *pflag.Flag) bool {
	_, ok := fl.Value.(*enumValue)
	return ok
}

// allEnums are the enums above, for OneOfCanonical.
var allEnums = []*Enum{&EnumType, &EnumProtocol, &EnumEncryption, &EnumAuth, &EnumOnReceived, &EnumPreset, &EnumProvider, &EnumFlow, &EnumFor, &EnumSecrets, &EnumFormat}

// OneOfCanonical is OneOf for an answer typed at a prompt: when one of
// mailport's enums has exactly these choices, *v is first replaced by its
// canonical value (any case, aliases), as a flag's value would be.
func OneOfCanonical(flag string, v *string, choices []string) error {
	key := strings.Join(choices, "|")
	for _, e := range allEnums {
		if strings.Join(e.Values, "|") != key {
			continue
		}
		if c, err := e.Normalize(*v); err == nil {
			*v = c
		}
		break
	}
	return OneOf(flag, *v, choices)
}
