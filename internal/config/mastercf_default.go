package config

// DefaultMasterCF is the service table Postern uses when the configuration
// directory has no master.cf: the services Postern implements, in
// master.cf syntax. "postconf -M" prints it; copy it to master.cf to change
// it.
const DefaultMasterCF = `# Postern master process configuration file (built-in default).
#
# Each service is one line of eight columns; a line that starts with
# whitespace continues the one before it. "-" means the default.
# See "postconf -M" for the services in effect.
#
# ==========================================================================
# service type  private unpriv  chroot  wakeup  maxproc command + args
#               (yes)   (yes)   (no)    (never) (100)
# ==========================================================================
smtp      inet  n       -       n       -       -       smtpd
#submission inet n       -       n       -       -       smtpd
#  -o syslog_name=postern/submission
#  -o smtpd_tls_security_level=encrypt
#  -o smtpd_sasl_auth_enable=yes
#  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
#628      inet  n       -       n       -       -       qmqpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
showq     unix  n       -       n       -       -       showq
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
  -o syslog_name=${multi_instance_name?{$multi_instance_name}:{postern}}/$service_name
lmtp      unix  -       -       n       -       -       lmtp
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
#
# A delivery through an external program, for example:
#maildrop  unix  -       n       n       -       -       pipe
#  flags=DRXhu user=vmail argv=/usr/bin/maildrop -d ${recipient}
`
