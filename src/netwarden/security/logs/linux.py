"""Linux authentication logs as data: OpenSSH sshd, PAM, sudo, su, dropbear, vsftpd.

Where the formats come from: OpenSSH's auth.c / sshd.c / auth-pam.c / packet.c / kex.c log calls
(``Failed %s for %s%.100s from %.200s port %d ssh2%s``, ``Invalid user %.100s from %.100s port %d``,
``Connection closed by %s user %s %s port %d [preauth]`` ...), Linux-PAM's pam_unix
(``authentication failure; logname=%s uid=%d euid=%d tty=%s ruser=%s rhost=%s [user=%s]``), sudo's
logging.c (``user : TTY=... ; PWD=... ; USER=... ; COMMAND=...``), util-linux and shadow su,
dropbear's svr-auth.c / svr-authpasswd.c, vsftpd's logging.c, and the real lines of fail2ban's
test corpus (../shared/data/fail2ban), which also carry the injection attempts the user and host
patterns must not fall for (a user name containing ``from 10.0.0.1`` or ``rhost=``).

``fields["rule"]`` names the format; :mod:`netwarden.security.logs.authfail` decides from it which
lines of a connection count as authentication failures.
"""

from __future__ import annotations

import re

from netwarden.security.logs.rules import RuleSet, rule

_PORT = r"(?: port (?P<sport>\d+))?"
_ON = r"(?: on \S+(?: port \d+)?)?"
_PRE = r"(?P<preauth> \[preauth\])?\s*$"
_OPENSSH = "OpenSSH auth.c/sshd.c log messages"

SSHD = RuleSet(
    parser="linux.sshd",
    apps=frozenset({"sshd", "sshd-session", "sshd-auth"}),
    # OpenSSH's "error: " / "fatal: " level prefixes, "PAM: " of auth-pam.c, Solaris' "[ID n facility]".
    strip=re.compile(r"^(?:\[ID \d+ [\w.]+\] )?(?:(?:error|fatal): (?:PAM: )?)?"),
    rules=(
        rule(
            "sshd.accepted",
            "auth-success",
            r"^Accepted (?P<method>\S+) for (?P<user>\S+) from (?P<src>{HOST}) port (?P<sport>\d+)"
            r"(?: ssh\d*)?(?::.*)?$",
            needle="Accepted ",
            action="login",
            outcome="success",
            origin=_OPENSSH,
        ),
        # "Failed <method> for [invalid user ]<user> from <host> port <n> ssh2[: <auth info>]". The user
        # (of an invalid user: anything the client sent) and the auth info may both hold " from x": a
        # one-word user must be followed by ": " or the end; a longer one may hold no " from ", or it
        # takes everything up to the last " from <host>".
        rule(
            "sshd.failed",
            "auth-failure",
            r"^Failed (?P<method>\S+) for (?P<invalid>invalid user )?(?P<user>\S+) from (?P<src>{HOST})"
            + _PORT
            + _ON
            + r"(?: ssh\d*)?(?:: .*)?$",
            needle="Failed ",
            action="login",
            outcome="failure",
            origin=_OPENSSH,
        ),
        rule(
            "sshd.failed",
            "auth-failure",
            r"^Failed (?P<method>\S+) for (?P<invalid>invalid user )(?P<user>(?:(?! from ).)*?) from (?P<src>{HOST})"
            + _PORT
            + _ON
            + r"(?: ssh\d*)?(?:(?! from ).)*$",
            needle="Failed ",
            action="login",
            outcome="failure",
            origin=_OPENSSH,
        ),
        rule(
            "sshd.failed",
            "auth-failure",
            r"^Failed (?P<method>\S+) for (?P<user>[^:]+) from (?P<src>{HOST})"
            + _PORT
            + _ON
            + r"(?: ssh\d*)?(?:(?! from ).)*$",
            needle="Failed ",
            action="login",
            outcome="failure",
            origin=_OPENSSH,
        ),
        rule(
            "sshd.pam-error",
            "auth-failure",
            r"^[aA]uthentication (?:failure|error|failed) for (?:(?:illegal|invalid) user )?(?P<user>.*?)"
            r" from (?P<src>{HOST})(?: via \S+)?" + _PRE,
            needle="uthentication ",
            action="login",
            outcome="failure",
            origin="OpenSSH auth-pam.c ('PAM: Authentication failure for %s from %s'), macOS 'via' form",
        ),
        rule(
            "sshd.unknown-user",
            "auth-invalid-user",
            r"^User not known to the underlying authentication module for (?:(?:illegal|invalid) user )?"
            r"(?P<user>.*?) from (?P<src>{HOST})" + _PRE,
            needle="User not known",
            action="login",
            outcome="failure",
            origin="OpenSSH auth-pam.c, PAM_USER_UNKNOWN",
        ),
        rule(
            "sshd.root-refused",
            "auth-failure",
            r"^ROOT LOGIN REFUSED(?: .*?)? FROM (?P<src>{HOST})" + _PORT + _PRE,
            needle="ROOT LOGIN REFUSED",
            action="login",
            outcome="failure",
            defaults={"user": "root"},
            origin="OpenSSH auth.c, PermitRootLogin no",
        ),
        rule(
            "sshd.invalid-user",
            "auth-invalid-user",
            r"^[iI](?:llegal|nvalid) user (?P<user>.*?) from (?P<src>{HOST})" + _PORT + _ON + _PRE,
            needle="nvalid user ",
            action="login",
            outcome="failure",
            origin=_OPENSSH + " ('Invalid user %.100s from %.100s port %d'; 'Illegal user' before 3.9)",
        ),
        rule(
            "sshd.invalid-user",
            "auth-invalid-user",
            r"^[iI](?:llegal|nvalid) user (?P<user>.*?) from (?P<src>{HOST})" + _PORT + _ON + _PRE,
            needle="llegal user ",
            action="login",
            outcome="failure",
            origin=_OPENSSH,
        ),
        rule(
            "sshd.userauth-invalid",
            "auth-invalid-user",
            r"^input_userauth_request: invalid user (?P<user>.*?)" + _PRE,
            needle="input_userauth_request",
            action="login",
            outcome="failure",
            origin="OpenSSH < 7.4 auth2.c (the host is on the connection's other lines)",
        ),
        rule(
            "sshd.not-allowed",
            "auth-failure",
            r"^User (?P<user>.+?) from (?P<src>{HOST}) not allowed because (?P<reason>.+?)" + _PRE,
            needle=" not allowed because ",
            action="login",
            outcome="failure",
            origin="OpenSSH auth.c allowed_user(): AllowUsers/DenyUsers/AllowGroups/DenyGroups",
        ),
        rule(
            "sshd.locked",
            "auth-failure",
            r"^User (?P<user>\S+) not allowed because account is locked" + _PRE,
            needle="account is locked",
            action="login",
            outcome="failure",
            origin="OpenSSH auth.c allowed_user() (no address: it is on the connection's other lines)",
        ),
        rule(
            "sshd.refused-connect",
            "auth-failure",
            r"^refused connect from (?P<name>\S+) \((?P<src>{HOST})\)" + _PRE,
            needle="refused connect from ",
            action="connect",
            outcome="failure",
            origin="tcp_wrappers (libwrap) refusing a connection to sshd",
        ),
        rule(
            "sshd.max-attempts",
            "auth-failure",
            r"^maximum authentication attempts exceeded for (?:invalid user )?(?P<user>.*?) from (?P<src>{HOST})"
            + _PORT
            + _ON
            + r"(?: ssh\d*)?"
            + _PRE,
            needle="maximum authentication attempts",
            action="login",
            outcome="failure",
            origin="OpenSSH >= 6.8 auth.c auth_maxtries_exceeded()",
        ),
        rule(
            "sshd.too-many",
            "auth-failure",
            r"^Disconnecting: Too many authentication failures(?: for (?P<user>.+?))?" + _PRE,
            needle="Too many authentication failures",
            action="disconnect",
            outcome="failure",
            origin="OpenSSH < 6.8 packet_disconnect (no address: it is on the connection's other lines)",
        ),
        rule(
            "sshd.disconnect-too-many",
            "session-close",
            r"^Disconnecting (?:invalid|authenticating) user (?P<user>\S+) (?P<src>{HOST})"
            + _PORT
            + r": Too many authentication failures"
            + _PRE,
            needle="Too many authentication failures",
            action="disconnect",
            outcome="failure",
            origin="OpenSSH >= 7.5 (after the 'maximum authentication attempts exceeded' line)",
        ),
        rule(
            "sshd.change-user",
            "auth-failure",
            r"^Disconnecting (?:invalid|authenticating) user (?P<user>\S+) (?P<src>{HOST})"
            + _PORT
            + r":\s*Change of username or service not allowed:.*?"
            + _PRE,
            needle="Change of username",
            action="login",
            outcome="failure",
            origin="OpenSSH auth2.c input_userauth_request()",
        ),
        rule(
            "sshd.disconnect-auth-fail",
            "auth-failure",
            r"^Received disconnect from (?P<src>{HOST})" + _PORT + r":\s*3: .*: Auth fail" + _PRE,
            needle="Auth fail",
            action="login",
            outcome="failure",
            origin="OpenSSH packet.c, the client's SSH2_DISCONNECT_PROTOCOL_ERROR after failing (JSch)",
        ),
        rule(
            "sshd.no-auth-methods",
            "session-close",
            r"^Received disconnect from (?P<src>{HOST})" + _PORT + r":\s*14: No(?: supported)? authentication"
            r" methods available" + _PRE,
            needle="authentication methods available",
            action="negotiate",
            outcome="failure",
            origin="OpenSSH packet.c, SSH2_DISCONNECT_NO_MORE_AUTH_METHODS_AVAILABLE",
        ),
        rule(
            "sshd.disconnect-bye",
            "session-close",
            r"^Received disconnect from (?P<src>{HOST})" + _PORT + r":\s*11:(?P<reason>.*?)" + _PRE,
            needle="Received disconnect from ",
            action="disconnect",
            origin="OpenSSH packet.c, SSH2_DISCONNECT_BY_APPLICATION",
        ),
        rule(
            "sshd.closed",
            "session-close",
            r"^(?P<how>Connection closed|Connection reset|Disconnected) (?:by|from)"
            r"(?: (?:(?P<uclass>invalid|authenticating) )?user (?P<user>.*?))? (?P<src>{HOST})" + _PORT + _PRE,
            needle="onnect",
            action="disconnect",
            origin=_OPENSSH + " ('Connection closed by %s%s%s port %d', 'Disconnected from user %s %s port %d')",
        ),
        rule(
            "sshd.connection-from",
            "other",
            r"^Connection from (?P<src>{HOST}) port (?P<sport>\d+)(?: on (?P<dst>{HOST}) port (?P<dport>\d+))?",
            needle="Connection from ",
            action="connect",
            origin="OpenSSH sshd.c at LogLevel VERBOSE",
        ),
        rule(
            "sshd.ltype",
            "other",
            r"^SSH: Server;Ltype: (?:Authname|Version|Kex);Remote: (?P<src>[^;]+?)-(?P<sport>\d+);",
            needle="Ltype: ",
            action="connect",
            origin="OpenSSH with the HPN/FreeBSD connection logging patch",
        ),
        rule(
            "sshd.no-ident",
            "session-close",
            r"^Did not receive identification string from (?P<src>{HOST})" + _PORT + _PRE,
            needle="identification string",
            action="connect",
            outcome="failure",
            origin="OpenSSH < 8.3 sshd.c (a port scan or a banner grab)",
        ),
        rule(
            "sshd.bad-version",
            "session-close",
            r"^Bad protocol version identification '.*' from (?P<src>{HOST})" + _PORT + _PRE,
            needle="Bad protocol version",
            action="connect",
            outcome="failure",
            origin="OpenSSH < 8.3 sshd.c",
        ),
        rule(
            "sshd.kex-ident",
            "session-close",
            r"^kex_exchange_identification: (?:read: )?(?P<reason>[Cc]lient sent invalid protocol identifier.*"
            r"|[Cc]onnection closed by remote host|[Cc]onnection reset by peer)\s*$",
            needle="kex_exchange_identification",
            action="connect",
            outcome="failure",
            origin="OpenSSH >= 8.3 kex.c (the address is on the connection's other lines)",
        ),
        rule(
            "sshd.kex-other",
            "session-close",
            r"^kex_exchange_identification: (?P<reason>.+)$",
            needle="kex_exchange_identification",
            action="connect",
            outcome="failure",
            origin="OpenSSH >= 8.3 kex.c",
        ),
        rule(
            "sshd.banner-invalid",
            "session-close",
            r"^banner exchange: Connection from (?P<src>{HOST})" + _PORT + r": invalid format",
            needle="banner exchange",
            action="connect",
            outcome="failure",
            origin="OpenSSH >= 8.5 kex.c (a TLS client or a scanner on the SSH port)",
        ),
        rule(
            "sshd.dispatch-fatal",
            "session-close",
            r"^ssh_dispatch_run_fatal: Connection from (?P<src>{HOST})" + _PORT + r": (?P<reason>.*?)" + _PRE,
            needle="ssh_dispatch_run_fatal",
            action="connect",
            outcome="failure",
            origin="OpenSSH dispatch.c",
        ),
        rule(
            "sshd.read-reset",
            "session-close",
            r"^Read from socket failed: Connection reset by peer" + _PRE,
            needle="Read from socket failed",
            action="connect",
            outcome="failure",
            origin="OpenSSH < 7 packet.c",
        ),
        rule(
            "sshd.auth-timeout",
            "session-close",
            r"^Timeout before authentication for (?:connection from )?(?P<src>{HOST})" + _PORT,
            needle="Timeout before authentication",
            action="login",
            outcome="failure",
            origin="OpenSSH sshd.c grace_alarm_handler(), LoginGraceTime",
        ),
        rule(
            "sshd.negotiate",
            "session-close",
            r"^Unable to negotiate with (?P<src>{HOST})" + _PORT + r": no matching (?P<alg>.+?) found",
            needle="Unable to negotiate with ",
            action="negotiate",
            outcome="failure",
            origin="OpenSSH >= 7.0 kex.c",
        ),
        rule(
            "sshd.negotiate",
            "session-close",
            r"^(?:Unable to negotiate a (?P<alg>[\w ]+?)" + _PRE + r"|no matching (?P<alg2>[\w ]+?) found:)",
            needle="negotiat",
            action="negotiate",
            outcome="failure",
            origin="OpenSSH < 7.0 kex.c (the address is on the connection's other lines)",
        ),
        rule(
            "sshd.negotiate",
            "session-close",
            r"^no matching (?P<alg>[\w ]+?) found:",
            needle="no matching ",
            action="negotiate",
            outcome="failure",
            origin="OpenSSH < 7.0 kex.c",
        ),
    ),
)

# pam_unix and friends, from any program. "(pam_unix)" and "pam_unix:" are Linux-PAM before 0.99.2.
_PAM_MOD = r"(?:\(?(?P<module>pam_\w+)(?:\((?P<service>[^):]*)(?::\w+)?\))?\)?:?\s+)?"
PAM = RuleSet(
    parser="linux.pam",
    needles=("authentication failure", "pam_", "more authentication failure", "check pass"),
    rules=(
        rule(
            "pam.auth-failure",
            "auth-failure",
            r"^" + _PAM_MOD + r"authentication failure;\s*logname=(?P<logname>\S*)\s+uid=(?P<uid>\d*)\s+euid=\d*\s+"
            r"tty=(?P<tty>\S*)\s+ruser=(?P<ruser>.*?)\s+rhost=(?P<src>{HOST})?(?:\s+user=(?P<user>.*?))?" + _PRE,
            needle="authentication failure;",
            action="login",
            outcome="failure",
            origin="Linux-PAM pam_unix support.c _unix_blankpasswd/_unix_verify_password; pam_sss, pam_ldap alike",
        ),
        rule(
            "pam.more-failures",
            "auth-failure",
            r"^PAM (?P<count>\d+) more authentication failures?;\s*logname=\S*\s+uid=\d*\s+euid=\d*\s+tty=\S*\s+"
            r"ruser=(?P<ruser>.*?)\s+rhost=(?P<src>{HOST})?(?:\s+user=(?P<user>.*?))?" + _PRE,
            needle="more authentication failure",
            action="login",
            outcome="failure",
            origin="Linux-PAM pam_unix (the repeat count of one conversation)",
        ),
        rule(
            "pam.user-unknown",
            "auth-invalid-user",
            r"^" + _PAM_MOD + r"check pass; user unknown",
            needle="check pass; user unknown",
            action="login",
            outcome="failure",
            origin="Linux-PAM pam_unix",
        ),
        rule(
            "pam.session",
            "session-open",
            r"^" + _PAM_MOD + r"session (?P<state>opened|closed) for user (?P<user>[^\s(]+)(?:\(uid=\d+\))?"
            r"(?: by (?P<by>[^\s(]*)(?:\(uid=\d+\))?)?\s*$",
            needle="session ",
            action="session",
            kind_by=("state", {"opened": "session-open", "closed": "session-close"}, "session-open"),
            origin="Linux-PAM pam_unix_sess.c",
        ),
    ),
)

_SUDO_TAIL = (
    r"TTY=(?P<tty>\S+) ; PWD=(?P<pwd>.*?) ; USER=(?P<target_user>\S+) ;(?: [A-Z]+=.*? ;)* COMMAND=(?P<command>.*)$"
)
SUDO = RuleSet(
    parser="linux.sudo",
    apps=frozenset({"sudo"}),
    rules=(
        rule(
            "sudo.bad-password",
            "auth-failure",
            r"^\s*(?P<user>\S+) : (?P<count>\d+) incorrect password attempts? ; " + _SUDO_TAIL,
            needle="incorrect password",
            action="sudo",
            outcome="failure",
            origin="sudo plugins/sudoers/logging.c",
        ),
        rule(
            "sudo.refused",
            "sudo",
            r"^\s*(?P<user>\S+) : (?P<reason>user NOT in sudoers|user NOT authorized on host|command not allowed|"
            r"a password is required) ; " + _SUDO_TAIL,
            needle=" ; ",
            action="sudo",
            outcome="failure",
            origin="sudo plugins/sudoers/logging.c",
        ),
        rule(
            "sudo.command",
            "sudo",
            r"^\s*(?P<user>\S+) : " + _SUDO_TAIL,
            needle="COMMAND=",
            action="sudo",
            outcome="success",
            origin="sudo plugins/sudoers/logging.c",
        ),
    ),
)

SU = RuleSet(
    parser="linux.su",
    apps=frozenset({"su"}),
    rules=(
        rule(
            "su.failed",
            "auth-failure",
            r"^FAILED SU \(to (?P<target_user>\S+)\) (?P<user>\S+) on (?P<tty>\S+)",
            needle="FAILED SU",
            action="su",
            outcome="failure",
            origin="util-linux su (older, and shadow su with SYSLOG_SU_ENAB)",
        ),
        rule(
            "su.failed",
            "auth-failure",
            r"^FAILED su for (?P<target_user>\S+) by (?P<user>\S+)",
            needle="FAILED su",
            action="su",
            outcome="failure",
            origin="util-linux su-common.c",
        ),
        rule(
            "su.ok",
            "sudo",
            r"^(?:Successful su for (?P<target_user>\S+) by (?P<user>\S+)"
            r"|\(to (?P<target_user2>\S+)\) (?P<user2>\S+) on \S+)",
            action="su",
            outcome="success",
            origin="util-linux su-common.c; shadow su",
        ),
        rule(
            "su.ok",
            "sudo",
            r"^(?P<sign>[+-]) (?P<tty>\S+) (?P<user>[^:\s]+):(?P<target_user>\S+)$",
            action="su",
            kind_by=("sign", {"+": "sudo", "-": "auth-failure"}, "sudo"),
            outcome_by=("sign", {"+": "success", "-": "failure"}),
            origin="shadow su sulog(): '+ pts/0 alice:root', '-' when it failed",
        ),
    ),
)

_DB_HP = r"(?P<src_hp>[0-9A-Fa-f:.]+|[\w.-]+:\d+)"
DROPBEAR = RuleSet(
    parser="linux.dropbear",
    apps=frozenset({"dropbear"}),
    # run under a journal or a supervisor that keeps stderr, dropbear writes its own "[pid] Mon dd hh:mm:ss ".
    strip=re.compile(r"^(?:\[\d+\] [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d )?"),
    rules=(
        rule(
            "dropbear.bad-password",
            "auth-failure",
            r"^[Bb]ad password attempt for '(?P<user>.*)' from " + _DB_HP + r"\s*$",
            needle="ad password attempt",
            action="login",
            outcome="failure",
            origin="dropbear svr-authpasswd.c",
        ),
        rule(
            "dropbear.no-such-user",
            "auth-invalid-user",
            r"^[Ll]ogin attempt for nonexistent user(?: '(?P<user>.*)')? from " + _DB_HP + r"\s*$",
            needle="nonexistent user",
            action="login",
            outcome="failure",
            origin="dropbear svr-auth.c checkusername()",
        ),
        rule(
            "dropbear.max-tries",
            "auth-failure",
            r"^Exit before auth(?: from <" + _DB_HP + r">:)? ?(?:\(user '(?P<user>.*?)', (?P<fails>\d+) fails?\): )?"
            r"Max auth tries reached - user '(?P<user2>.*?)'(?: from (?P<src_hp2>\S+))?\s*$",
            needle="Max auth tries",
            action="login",
            outcome="failure",
            origin="dropbear svr-auth.c / common-session.c dropbear_exit() before auth",
        ),
        rule(
            "dropbear.accepted",
            "auth-success",
            r"^(?P<method>Password|Pubkey) auth succeeded for '(?P<user>.*?)'(?: with .*?)? from " + _DB_HP + r"\s*$",
            needle="auth succeeded",
            action="login",
            outcome="success",
            origin="dropbear svr-authpasswd.c / svr-authpubkey.c",
        ),
        rule(
            "dropbear.connect",
            "other",
            r"^Child connection from " + _DB_HP,
            needle="connection from",
            action="connect",
            origin="dropbear svr-main.c",
        ),
        rule(
            "dropbear.exit",
            "session-close",
            r"^Exit \((?P<user>[^)]*)\)(?: from <" + _DB_HP + r">)?: (?P<reason>.*)$",
            needle="Exit (",
            action="disconnect",
            origin="dropbear common-session.c",
        ),
    ),
)

VSFTPD = RuleSet(
    parser="linux.vsftpd",
    apps=frozenset({"vsftpd"}),
    strip=re.compile(r"^(?:\[pid \d+\] )?"),
    rules=(
        rule(
            "vsftpd.fail-login",
            "auth-failure",
            r'^\[(?P<user>[^\]]*)\] FAIL LOGIN: Client "(?P<src>{HOST})"(?:, "(?P<reason>[^"]*)")?',
            needle="FAIL LOGIN",
            action="login",
            outcome="failure",
            origin="vsftpd logging.c (vsftpd.log, or syslog with syslog_enable)",
        ),
        rule(
            "vsftpd.ok-login",
            "auth-success",
            r'^\[(?P<user>[^\]]*)\] OK LOGIN: Client "(?P<src>{HOST})"',
            needle="OK LOGIN",
            action="login",
            outcome="success",
            origin="vsftpd logging.c",
        ),
        rule(
            "vsftpd.connect",
            "other",
            r'^CONNECT: Client "(?P<src>{HOST})"',
            needle="CONNECT",
            action="connect",
            origin="vsftpd logging.c",
        ),
    ),
)

RULESETS = (SSHD, DROPBEAR, VSFTPD, SUDO, SU, PAM)
