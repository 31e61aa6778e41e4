"""A real SMTP server on loopback for the delivery tests (aiosmtpd): STARTTLS and AUTH are
required before any mail is taken, as a production relay requires them, and every accepted mail
is written to a Maildir the test reads back.

    python3 server.py PORT MAILDIR CERT KEY USER PASSWORD

Prints "ready" once it listens; runs until killed.
"""

import ssl
import sys
import time

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    port, maildir, cert, key, user, password = sys.argv[1:7]
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, data):
        ok = (
            isinstance(data, LoginPassword)
            and data.login.decode() == user
            and data.password.decode() == password
        )
        # handled=False: aiosmtpd answers a failure with 535 (by default it answers nothing).
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        Mailbox(maildir),
        hostname="127.0.0.1",
        port=int(port),
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=authenticator,
    )
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
