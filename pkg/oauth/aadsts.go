package oauth

import "strings"

// AADSTSAdvice is what mailport knows about one of Microsoft's sign-in
// error codes (AADSTSnnn), or a group of codes with one cause: the words a
// person sees, why it happens and what to do, written for a support
// person. It is the one source of this advice: ProviderError.Hint prints
// Fix when a command is refused, and the diagnosis (`mailport test`, and
// docs/troubleshooting.md generated from it) turns every row into a
// catalog entry.
//
// Cause and Fix may hold the placeholders <account> and <token-config>;
// FillNames replaces them. They name no cloud's hosts or resources, so
// the advice holds in every Microsoft cloud.
type AADSTSAdvice struct {
	// Codes are the AADSTS codes of the row, the main one first.
	Codes []int
	// Title is the heading in the troubleshooting page.
	Title string
	// Message is an example of Microsoft's words, with <id>, <tenant> and
	// the like where Microsoft names the app, tenant or user.
	Message string
	Cause   string
	Fix     string
}

// aadstsTable is in the order the troubleshooting page lists it: roughly
// the tenant, the app and its secret, the sign-in in the browser, consent
// and scopes, the user, and refresh tokens that stopped working.
var aadstsTable = []AADSTSAdvice{
	{
		Codes:   []int{50194},
		Title:   "AADSTS50194: the app is not multi-tenant",
		Message: "AADSTS50194: Application '<id>' is not configured as a multi-tenant application.",
		Cause:   "The token config's base_url uses the tenant common or organizations, which Microsoft accepts only for multi-tenant apps.",
		Fix:     "Use your own tenant in base_url: `mailport token-config edit <token-config> --tenant yourdomain.com` (or your tenant id).",
	},
	{
		Codes:   []int{7000215},
		Title:   "AADSTS7000215: invalid client secret",
		Message: "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID",
		Cause:   "The stored client secret is wrong: most often the secret's ID was copied instead of its Value, or the secret was replaced or has expired.",
		Fix:     "Copy the secret's Value (shown only when it is created) from the app registration and store it with `mailport token-config edit <token-config> --client-secret-stdin`.",
	},
	{
		Codes:   []int{7000222},
		Title:   "AADSTS7000222: the client secret has expired (or expires soon)",
		Message: "AADSTS7000222: The provided client secret keys for app '<id>' are expired.",
		Cause:   "A client secret lives at most two years; once the app's secret has expired, Microsoft refuses every token request of the token config and all accounts using it stop. When the token config has secret_expires, `mailport status` and `mailport test` warn from 30 days before that date (\"the client secret of token config <token-config> expires on ...\").",
		Fix:     "Create a new client secret in the app registration (Certificates & secrets) and store its Value with its expiry date: `mailport token-config edit <token-config> --client-secret-stdin --secret-expires YYYY-MM-DD`.",
	},
	{
		Codes:   []int{700027},
		Title:   "AADSTS700027: the client assertion's certificate is not registered (or has expired)",
		Message: "AADSTS700027: Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '<thumbprint>']",
		Cause:   "The token config signs its client assertions with a certificate the app registration does not have: it was never uploaded, another certificate was uploaded, or it has expired (Microsoft then says the key has expired). `mailport status` and `mailport test` warn from 30 days before the certificate's expiry.",
		Fix:     "Upload the certificate's public part (the .cer, or the PEM without its key) to the app registration's Certificates & secrets page, a new one when it has expired or expires soon, and give mailport the same certificate with its key: `mailport token-config edit <token-config> --certificate FILE` (or replace the file at certificate_path). `mailport token-config show <token-config>` prints the thumbprint to compare with the page's.",
	},
	{
		Codes:   []int{700024},
		Title:   "AADSTS700024: the client assertion is not within its valid time range",
		Message: "AADSTS700024: Client assertion is not within its valid time range. Current time: <time>, assertion valid from <time>, expiry time of assertion <time>.",
		Cause:   "Microsoft refused the client assertion's times: this machine's clock is off by more than a few minutes, a federated token file holds an expired token (the platform stopped rotating it), or an assertion was presented twice (mailport signs a fresh one, with a new jti, for every request).",
		Fix:     "Set the machine's clock right (NTP, e.g. `timedatectl set-ntp true`); for a federated token file check that the platform still renews it (a Kubernetes projected token is renewed by the kubelet while the pod runs).",
	},
	{
		Codes:   []int{70021},
		Title:   "AADSTS70021: no federated credential matches the token",
		Message: "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: '<issuer>'. Assertion Subject: '<subject>'. Assertion Audience: '<audience>'.",
		Cause:   "The federated token's issuer, subject or audience differs from every federated credential of the app registration: for GitHub Actions the subject names the repository and the branch, environment or pull request (repo:ORG/REPO:ref:refs/heads/main); for Kubernetes it is system:serviceaccount:NAMESPACE:NAME and the issuer is the cluster's OIDC issuer URL.",
		Fix:     "Add a federated credential (Certificates & secrets, Federated credentials) with exactly the issuer and subject Microsoft names in the error and the audience api://AzureADTokenExchange, or, in GitHub Actions, ask for the registered audience with `mailport token-config edit <token-config> --federated-audience AUD` (a token file's audience is set where the token is made).",
	},
	{
		Codes:   []int{50027},
		Title:   "AADSTS50027: the client assertion is malformed",
		Message: "AADSTS50027: JWT token is invalid or malformed.",
		Cause:   "Microsoft could not use the client assertion: its audience is not the token endpoint of the token config's tenant, its iss and sub are not the client id, or a federated token file holds something that is not a token.",
		Fix:     "Check that client_id and base_url of token config <token-config> name the app registration and tenant that have the certificate or federated credential; for a federated token file check that it holds the projected token itself.",
	},
	{
		Codes:   []int{700025, 7000218},
		Title:   "AADSTS700025 / AADSTS7000218: public or confidential client mismatch",
		Message: "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
		Cause:   "The app registration and the token config disagree about whether the app has a secret: AADSTS7000218 means the app is confidential (or public client flows are off) and no secret was sent; AADSTS700025 means the app is public and a secret was sent.",
		Fix:     "For AADSTS7000218 either store the app's client secret with `mailport token-config edit <token-config> --client-secret-stdin`, or set \"Allow public client flows\" to Yes in the app registration's Authentication page (the device flow needs it). For AADSTS700025 remove the stored secret: `mailport token-config edit <token-config> --no-client-secret`.",
	},
	{
		Codes:   []int{700016},
		Title:   "AADSTS700016: application not found in the directory",
		Message: "AADSTS700016: Application with identifier '<id>' was not found in the directory",
		Cause:   "No app with this client id is registered in the tenant named in base_url: the client id is mistyped, or the app lives in another tenant.",
		Fix:     "Copy the \"Application (client) ID\" from the app's overview page and the tenant from the same page: `mailport token-config edit <token-config> --client-id ... --tenant ...`.",
	},
	{
		Codes:   []int{90002},
		Title:   "AADSTS90002: tenant not found",
		Message: "AADSTS90002: Tenant '<tenant>' not found.",
		Cause:   "The tenant in the token config's base_url does not exist (a typo, or a domain that is not verified in the tenant).",
		Fix:     "Use the tenant id (a GUID) or a verified domain from the Entra overview page: `mailport token-config edit <token-config> --tenant ...`.",
	},
	{
		Codes:   []int{50011},
		Title:   "AADSTS50011: redirect URI mismatch",
		Message: "AADSTS50011: The redirect URI '<uri>' specified in the request does not match the redirect URIs configured for the application",
		Cause:   "The redirect URI mailport used is not registered for the app (mailport listens on http://127.0.0.1 or localhost, or on redirect_url when set).",
		Fix:     "Register http://localhost as a redirect URI of platform \"Mobile and desktop applications\" in the app registration, or set redirect_url on the token config to the URI that is registered; then run `mailport authenticate <account>`.",
	},
	{
		Codes:   []int{501481, 50148},
		Title:   "AADSTS501481 / AADSTS50148: the PKCE code verifier does not match",
		Message: "AADSTS501481: The Code_Verifier does not match the code_challenge supplied in the authorization request.",
		Cause:   "Microsoft got a PKCE code verifier that does not fit the sign-in's code challenge (or none at all): something between mailport and Microsoft changed the sign-in address, such as a proxy, a browser extension or a copy that lost part of it.",
		Fix:     "Start the sign-in again with `mailport authenticate <account>`; if it recurs, run it with --no-browser and open the whole address it prints in a browser without extensions, outside the proxy.",
	},
	{
		Codes:   []int{54005},
		Title:   "AADSTS54005: the sign-in code was already used",
		Message: "AADSTS54005: OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.",
		Cause:   "A sign-in code can be redeemed once, and this one had been: the same redirect address reached two programs (an address pasted into two mailport runs, or a link scanner that followed it).",
		Fix:     "Start the sign-in again with `mailport authenticate <account>` and give its redirect address to that run only.",
	},
	{
		Codes:   []int{65001},
		Title:   "AADSTS65001: consent missing",
		Message: "AADSTS65001: The user or administrator has not consented to use the application",
		Cause:   "Nobody has consented to the app's permissions for this user, or the consent was withdrawn.",
		Fix:     "Have an administrator open the app registration, API permissions, and press \"Grant admin consent\"; then run `mailport authenticate <account>`.",
	},
	{
		Codes:   []int{70011},
		Title:   "AADSTS70011: a scope is not valid",
		Message: "AADSTS70011: The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.",
		Cause:   "Microsoft refused the token config's scopes: a scope is misspelled, names an API the tenant does not know, or does not fit the flow (client credentials takes only scopes ending in /.default).",
		Fix:     "Check the scopes with `mailport token-config show <token-config>`; `mailport token-config edit <token-config> --for imap` (or pop3, smtp, graph) sets the ones the protocol and flow need.",
	},
	{
		Codes:   []int{28000},
		Title:   "AADSTS28000: scopes of more than one resource",
		Message: "AADSTS28000: Provided value for the input parameter scope is not valid because it contains more than one resource.",
		Cause:   "A Microsoft token serves one resource, but the token config's scopes name two, for example Outlook's IMAP.AccessAsUser.All together with Graph's Mail.Read.",
		Fix:     "Keep the scopes of one resource in the token config: `mailport token-config edit <token-config> --for imap` (or pop3, smtp, graph); accounts that need the other resource get a token config of their own.",
	},
	{
		Codes:   []int{50059},
		Title:   "AADSTS50059: no tenant information",
		Message: "AADSTS50059: No tenant-identifying information found in either the request or implied by any provided credentials.",
		Cause:   "The token config's base_url names no tenant Microsoft can use for this sign-in (for example common for an app-only flow).",
		Fix:     "Put the tenant id or domain in base_url: `mailport token-config edit <token-config> --tenant yourdomain.com`.",
	},
	{
		Codes:   []int{50020},
		Title:   "AADSTS50020: the user is not from this tenant",
		Message: "AADSTS50020: User account '<user>' from identity provider '<provider>' does not exist in tenant '<tenant>' and cannot access the application.",
		Cause:   "Someone signed in with an account of another tenant, or a personal Microsoft account, than the tenant in the token config's base_url, and that tenant does not know the account (not even as a guest).",
		Fix:     "Run `mailport authenticate <account>` and sign in as the mailbox's user, an account of the tenant in base_url; if the mailbox lives in another tenant, point the token config at it with `mailport token-config edit <token-config> --tenant ...`.",
	},
	{
		Codes:   []int{50076, 50079},
		Title:   "AADSTS50076 / AADSTS50079: multi-factor authentication required",
		Message: "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '<resource>'.",
		Cause:   "A Conditional Access policy or the tenant's security defaults now require multi-factor authentication, which the stored sign-in did not have (AADSTS50079: the user has yet to register a method).",
		Fix:     "Run `mailport authenticate <account>` and complete the multi-factor prompt in the browser; for AADSTS50079 the user first registers a method at https://aka.ms/mfasetup.",
	},
	{
		Codes:   []int{70043},
		Title:   "AADSTS70043: refresh token expired by sign-in frequency",
		Message: "AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.",
		Cause:   "A Conditional Access sign-in frequency policy makes users sign in again after a set time; the stored refresh token has passed it.",
		Fix:     "Run `mailport authenticate <account>`. If this recurs, ask the tenant admin to exclude the app or the mailbox user from the sign-in frequency policy, or use an app-only token config.",
	},
	{
		Codes:   []int{700082},
		Title:   "AADSTS700082: refresh token expired from inactivity",
		Message: "AADSTS700082: The refresh token has expired due to inactivity.",
		Cause:   "The refresh token was not used for 90 days, so Microsoft let it expire.",
		Fix:     "Run `mailport authenticate <account>`, and use the account at least every few weeks (a scheduled fetch keeps the token alive).",
	},
	{
		Codes:   []int{70008},
		Title:   "AADSTS70008: refresh token or sign-in code expired",
		Message: "AADSTS70008: The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.",
		Cause:   "The refresh token has outlived its lifetime (unused too long, or ended by a token lifetime policy of the tenant), or a sign-in code was redeemed too late.",
		Fix:     "Run `mailport authenticate <account>` and sign in again; a scheduled fetch keeps the new token in use.",
	},
	{
		Codes:   []int{50173},
		Title:   "AADSTS50173: grant revoked",
		Message: "AADSTS50173: The provided grant has expired due to it being revoked, a fresh auth token is needed.",
		Cause:   "The refresh token was revoked: the user changed or reset their password, or an admin revoked the user's sessions.",
		Fix:     "Run `mailport authenticate <account>` and sign in again.",
	},
	{
		Codes:   []int{70000},
		Title:   "AADSTS70000: refresh token not valid",
		Message: "AADSTS70000: The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.",
		Cause:   "Microsoft does not accept the refresh token: it was revoked, belongs to another app, or was copied wrongly into MAILPORT_REFRESH_TOKEN_<ACCOUNT>.",
		Fix:     "Run `mailport authenticate <account>`; when the token comes from the environment, set the variable to a refresh token obtained for this token config.",
	},
}

// aadstsByCode indexes aadstsTable.
var aadstsByCode = func() map[int]*AADSTSAdvice {
	m := map[int]*AADSTSAdvice{}
	for i := range aadstsTable {
		for _, c := range aadstsTable[i].Codes {
			m[c] = &aadstsTable[i]
		}
	}
	return m
}()

// AADSTSTable returns every row of advice, in the troubleshooting page's
// order. The slice is a copy; changing it changes nothing here.
func AADSTSTable() []AADSTSAdvice {
	out := make([]AADSTSAdvice, len(aadstsTable))
	for i, a := range aadstsTable {
		a.Codes = append([]int(nil), a.Codes...)
		out[i] = a
	}
	return out
}

// AADSTSAdviceFor returns the advice for an AADSTS code, and false when
// mailport has none.
func AADSTSAdviceFor(code int) (AADSTSAdvice, bool) {
	a, ok := aadstsByCode[code]
	if !ok {
		return AADSTSAdvice{}, false
	}
	c := *a
	c.Codes = append([]int(nil), a.Codes...)
	return c, true
}

// FillNames replaces the placeholders of the advice: <account> by account
// and <token-config> by tokenConfig, or by the words ACCOUNT and
// TOKENCONFIG (as in the commands' help) when a name is unknown.
func FillNames(s, account, tokenConfig string) string {
	if account == "" {
		account = "ACCOUNT"
	}
	if tokenConfig == "" {
		tokenConfig = "TOKENCONFIG"
	}
	return strings.NewReplacer("<account>", account, "<token-config>", tokenConfig).Replace(s)
}
