"""A bounce-mailbox corpus: DSNs as Postfix, Exchange Online, Gmail and Exim send them,
auto-replies, spam, mailto unsubscribes and replies, each with the class it must get.

The shapes follow real messages from those servers (boundaries, header order, the
human-readable part, the returned headers); only the addresses, hosts and tokens are
made up (reserved domains). `$verp` is the envelope sender the message went out with,
`$rcpt` the recipient, `$token` the recipient's unsubscribe token.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Template

from composer.inbox.classify import Kind

_ORIGINAL_HEADERS = """\
Return-Path: <$verp>
Received: from bulletin.example (bulletin.example [192.0.2.1])
	by mx.bulletin.example (Postfix) with ESMTP id 4Xb2Lm0Qh9z9sWb
	for <$rcpt>; Wed,  2 Dec 2026 09:59:58 +0000 (GMT)
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=bulletin.example;
 s=bulletin; h=from : to : subject; bh=AAAA; b=BBBB
From: GPC England <gpc-bulletin@bulletin.example>
To: $rcpt
Subject: GPC England bulletin - December 2026
Date: Wed, 02 Dec 2026 09:59:57 +0000
Message-ID: <0f3c2a9e@bulletin.example>
List-Unsubscribe: <https://bulletin.example/u/$token>,
 <mailto:unsubscribe@bulletin.example?subject=unsubscribe%20$token>
List-Unsubscribe-Post: List-Unsubscribe=One-Click
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="===============1234=="
"""

POSTFIX_FAILED = """\
Return-Path: <>
X-Original-To: $verp
Delivered-To: $verp
Received: by mx.bulletin.example (Postfix)
	id 4Xb2Lm3Zq1z9sWc; Wed,  2 Dec 2026 10:00:01 +0000 (GMT)
Date: Wed,  2 Dec 2026 10:00:01 +0000 (GMT)
From: MAILER-DAEMON@mx.bulletin.example (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: $verp
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Xb2Lm3Zq1z9sWc.1796205601/mx.bulletin.example"
Content-Transfer-Encoding: 8bit
Message-Id: <20261202100001.4Xb2Lm3Zq1z9sWc@mx.bulletin.example>

This is a MIME-encapsulated message.

--4Xb2Lm3Zq1z9sWc.1796205601/mx.bulletin.example
Content-Description: Notification
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

This is the mail system at host mx.bulletin.example.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients. It's attached below.

For further assistance, please send mail to postmaster.

If you do so, please include this problem report. You can
delete your own text from the attached returned message.

                   The mail system

<$rcpt>: host mx1.example.org[192.0.2.10] said: 550 5.1.1
    <$rcpt>: Recipient address rejected: User unknown in virtual mailbox
    table (in reply to RCPT TO command)

--4Xb2Lm3Zq1z9sWc.1796205601/mx.bulletin.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.bulletin.example
X-Postfix-Queue-ID: 4Xb2Lm0Qh9z9sWb
X-Postfix-Sender: rfc822; $verp
Arrival-Date: Wed,  2 Dec 2026 09:59:58 +0000 (GMT)

Final-Recipient: rfc822; $rcpt
Original-Recipient: rfc822;$rcpt
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx1.example.org
Diagnostic-Code: smtp; 550 5.1.1 <$rcpt>: Recipient address rejected: User
    unknown in virtual mailbox table

--4Xb2Lm3Zq1z9sWc.1796205601/mx.bulletin.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers
Content-Transfer-Encoding: 8bit

""" + _ORIGINAL_HEADERS + """
--4Xb2Lm3Zq1z9sWc.1796205601/mx.bulletin.example--
"""

POSTFIX_DELAYED = """\
Return-Path: <>
X-Original-To: $verp
Delivered-To: $verp
Date: Thu,  3 Dec 2026 10:00:05 +0000 (GMT)
From: MAILER-DAEMON@mx.bulletin.example (Mail Delivery System)
Subject: Delayed Mail (still being retried)
To: $verp
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="4Xc9Pq1Rt2z9sWd.1796292005/mx.bulletin.example"
Message-Id: <20261203100005.4Xc9Pq1Rt2z9sWd@mx.bulletin.example>

This is a MIME-encapsulated message.

--4Xc9Pq1Rt2z9sWd.1796292005/mx.bulletin.example
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.bulletin.example.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than 24 hour(s).
It will be retried until it is 5 day(s) old.

                   The mail system

<$rcpt>: host mx1.example.org[192.0.2.10] said: 452 4.2.2 Mailbox full
    (in reply to RCPT TO command)

--4Xc9Pq1Rt2z9sWd.1796292005/mx.bulletin.example
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.bulletin.example
X-Postfix-Queue-ID: 4Xb2Lm0Qh9z9sWb
X-Postfix-Sender: rfc822; $verp
Arrival-Date: Wed,  2 Dec 2026 09:59:58 +0000 (GMT)

Final-Recipient: rfc822; $rcpt
Original-Recipient: rfc822;$rcpt
Action: delayed
Status: 4.2.2
Remote-MTA: dns; mx1.example.org
Diagnostic-Code: smtp; 452 4.2.2 Mailbox full
Will-Retry-Until: Mon,  7 Dec 2026 09:59:58 +0000 (GMT)

--4Xc9Pq1Rt2z9sWd.1796292005/mx.bulletin.example
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

""" + _ORIGINAL_HEADERS + """
--4Xc9Pq1Rt2z9sWd.1796292005/mx.bulletin.example--
"""

EXCHANGE_FAILED = """\
Received: from AM9PR01MB7000.eurprd01.prod.exchangelabs.com (2603:10a6:20b::1)
 by AM0PR01MB5000.eurprd01.prod.exchangelabs.com with HTTPS; Wed, 2 Dec 2026
 10:00:03 +0000
MIME-Version: 1.0
From: <postmaster@nhs.example>
To: <$verp>
Date: Wed, 2 Dec 2026 10:00:03 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="a6f1b2c3-4d5e-6f70-8192-a3b4c5d6e7f8"
X-MS-Exchange-Message-Is-Ndr:
Content-Language: en-GB
Message-ID: <a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90@AM9PR01MB7000.eurprd01.prod.exchangelabs.com>
In-Reply-To: <0f3c2a9e@bulletin.example>
References: <0f3c2a9e@bulletin.example>
Thread-Topic: GPC England bulletin - December 2026
Subject: Undeliverable: GPC England bulletin - December 2026
Auto-Submitted: auto-replied
X-MS-Exchange-Organization-SCL: -1

--a6f1b2c3-4d5e-6f70-8192-a3b4c5d6e7f8
Content-Type: multipart/alternative; differences=Content-Type;
	boundary="b7a2c3d4-5e6f-7081-92a3-b4c5d6e7f8a9"

--b7a2c3d4-5e6f-7081-92a3-b4c5d6e7f8a9
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

Your message to $rcpt couldn't be delivered.
$rcpt wasn't found at nhs.example.
gpc-bulletin    Office 365      $rcpt
Action Required                 Recipient
Unknown To address

How to Fix It
The address may be misspelled or may not exist. Try one or more of the foll=
owing:

Diagnostic information for administrators:
Generating server: AM9PR01MB7000.eurprd01.prod.exchangelabs.com
$rcpt
Remote Server returned '550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipien=
t not found by SMTP address lookup'

--b7a2c3d4-5e6f-7081-92a3-b4c5d6e7f8a9
Content-Type: text/html; charset="us-ascii"
Content-Transfer-Encoding: quoted-printable

<html><head></head><body><p>Your message to <a href=3D"mailto:$rcpt">$rcpt<=
/a> couldn't be delivered.</p></body></html>

--b7a2c3d4-5e6f-7081-92a3-b4c5d6e7f8a9--

--a6f1b2c3-4d5e-6f70-8192-a3b4c5d6e7f8
Content-Type: message/delivery-status

Reporting-MTA: dns;AM9PR01MB7000.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mx.bulletin.example
Arrival-Date: Wed, 2 Dec 2026 10:00:02 +0000

Original-Recipient: rfc822;$rcpt
Final-Recipient: rfc822;$rcpt
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup

--a6f1b2c3-4d5e-6f70-8192-a3b4c5d6e7f8
Content-Type: text/rfc822-headers

""" + _ORIGINAL_HEADERS + """
--a6f1b2c3-4d5e-6f70-8192-a3b4c5d6e7f8--
"""

EXCHANGE_DELAYED = """\
MIME-Version: 1.0
From: <postmaster@nhs.example>
To: <$verp>
Date: Thu, 3 Dec 2026 10:05:00 +0000
Content-Type: multipart/report; report-type=delivery-status;
	boundary="c8b3d4e5-6f70-8192-a3b4-c5d6e7f8a9b0"
X-MS-Exchange-Message-Is-Ndr:
Message-ID: <b2c3d4e5-f607-1829-3a4b-5c6d7e8f9001@AM9PR01MB7000.eurprd01.prod.exchangelabs.com>
Subject: Delivery delayed:GPC England bulletin - December 2026
Auto-Submitted: auto-replied

--c8b3d4e5-6f70-8192-a3b4-c5d6e7f8a9b0
Content-Type: text/plain; charset="us-ascii"

Delivery is delayed to these recipients or groups:

$rcpt

Subject: GPC England bulletin - December 2026

This message hasn't been delivered yet. Delivery will continue to be attempted.

The server will keep trying to deliver this message for the next 1 days, 19 hours and 55 minutes. You'll be notified if the message can't be delivered by that time.

--c8b3d4e5-6f70-8192-a3b4-c5d6e7f8a9b0
Content-Type: message/delivery-status

Reporting-MTA: dns;AM9PR01MB7000.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mx.bulletin.example
Arrival-Date: Wed, 2 Dec 2026 10:00:02 +0000

Final-Recipient: rfc822;$rcpt
Action: delayed
Status: 4.4.7
Will-Retry-Until: Fri, 4 Dec 2026 10:00:02 +0000
X-Display-Name: $rcpt

--c8b3d4e5-6f70-8192-a3b4-c5d6e7f8a9b0
Content-Type: text/rfc822-headers

""" + _ORIGINAL_HEADERS + """
--c8b3d4e5-6f70-8192-a3b4-c5d6e7f8a9b0--
"""

GMAIL_FAILED = """\
Return-Path: <>
Received: by mail-yw1-f200.google.com with SMTP id 00721157ae682-6f2
        for <$verp>; Wed, 02 Dec 2026 02:00:04 -0800 (PST)
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: $verp
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
References: <0f3c2a9e@bulletin.example>
In-Reply-To: <0f3c2a9e@bulletin.example>
X-Failed-Recipients: $rcpt
Message-ID: <6745a2b4.050a0220.1b2c3d.a1b2.GMR@mx.google.com>
Date: Wed, 02 Dec 2026 02:00:04 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000a1b2c3062d4e5f60"; report-type=delivery-status

--000000000000a1b2c3062d4e5f60
Content-Type: multipart/related; boundary="000000000000a1b2c3062d4e5f61"

--000000000000a1b2c3062d4e5f61
Content-Type: multipart/alternative; boundary="000000000000a1b2c3062d4e5f62"

--000000000000a1b2c3062d4e5f62
Content-Type: text/plain; charset="UTF-8"


** Address not found **

Your message wasn't delivered to $rcpt because the address couldn't be found, or is unable to receive mail.

Learn more here: https://support.google.com/mail/?p=NoSuchUser

The response was:

The email account that you tried to reach does not exist. Please try double-checking the recipient's email address for typos or unnecessary spaces. For more information, go to https://support.google.com/mail/?p=NoSuchUser

--000000000000a1b2c3062d4e5f62
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2><p>Your message wasn't delivered to <a>$rcpt</a> because the address couldn't be found.</p></body></html>

--000000000000a1b2c3062d4e5f62--

--000000000000a1b2c3062d4e5f61--

--000000000000a1b2c3062d4e5f60
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; bulletin.example
Arrival-Date: Wed, 02 Dec 2026 02:00:02 -0800 (PST)
X-Original-Message-ID: <0f3c2a9e@bulletin.example>

Final-Recipient: rfc822; $rcpt
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (192.0.2.27, the server for the domain example.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist. Please try
 550-5.1.1 double-checking the recipient's email address for typos or
 550 5.1.1 unnecessary spaces. https://support.google.com/mail/?p=NoSuchUser a1si123 - gsmtp
Last-Attempt-Date: Wed, 02 Dec 2026 02:00:04 -0800 (PST)

--000000000000a1b2c3062d4e5f60
Content-Type: message/rfc822

""" + _ORIGINAL_HEADERS + """
--===============1234==
Content-Type: text/plain; charset="utf-8"

Dear Sam,
Unsubscribe: https://bulletin.example/u/$token

--===============1234==--

--000000000000a1b2c3062d4e5f60--
"""

GMAIL_DELAYED = """\
Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: $verp
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Delay)
Message-ID: <6746f4c1.170a0220.2c3d4e.b2c3.GMR@mx.google.com>
Date: Thu, 03 Dec 2026 02:00:10 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000b2c3d4062d4e5f70"; report-type=delivery-status

--000000000000b2c3d4062d4e5f70
Content-Type: text/plain; charset="UTF-8"

** Message not delivered yet **

There was a temporary problem delivering your message to $rcpt. Gmail will retry for 45 more hours. You'll be notified if the delivery fails permanently.

The response from the remote server was:

452 4.2.2 The recipient's inbox is out of storage space.

--000000000000b2c3d4062d4e5f70
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Arrival-Date: Wed, 02 Dec 2026 02:00:02 -0800 (PST)

Final-Recipient: rfc822; $rcpt
Action: delayed
Status: 4.2.2
Diagnostic-Code: smtp; 452 4.2.2 The recipient's inbox is out of storage space.
Last-Attempt-Date: Thu, 03 Dec 2026 02:00:10 -0800 (PST)
Will-Retry-Until: Sat, 05 Dec 2026 02:00:02 -0800 (PST)

--000000000000b2c3d4062d4e5f70
Content-Type: text/rfc822-headers

""" + _ORIGINAL_HEADERS + """
--000000000000b2c3d4062d4e5f70--
"""

EXIM_FAILED = """\
Return-path: <>
Envelope-to: $verp
Delivery-date: Wed, 02 Dec 2026 10:00:06 +0000
Received: from Debian-exim by mx.practice.example with local (Exim 4.96)
	id 1tI8Wz-0004Ab-2q
	for $verp;
	Wed, 02 Dec 2026 10:00:06 +0000
X-Failed-Recipients: $rcpt
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.practice.example>
To: $verp
Content-Type: text/plain; charset=us-ascii
Subject: Mail delivery failed: returning message to sender
Message-Id: <E1tI8Wz-0004Ab-2q@mx.practice.example>
Date: Wed, 02 Dec 2026 10:00:06 +0000

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  $rcpt
    host mail.practice.example [192.0.2.25]
    SMTP error from remote mail server after RCPT TO:<$rcpt>:
    550 5.1.1 <$rcpt>: Recipient address rejected: User unknown

------ This is a copy of the message, including all the headers. ------

""" + _ORIGINAL_HEADERS + """
--===============1234==
Content-Type: text/plain; charset="utf-8"

Dear Sam,

--===============1234==--
"""

EXIM_DELAYED = """\
Return-path: <>
Envelope-to: $verp
Received: from Debian-exim by mx.practice.example with local (Exim 4.96)
	id 1tIVbq-0007Cd-0x
	for $verp;
	Thu, 03 Dec 2026 10:02:00 +0000
Auto-Submitted: auto-replied
From: Mail Delivery System <Mailer-Daemon@mx.practice.example>
To: $verp
Content-Type: text/plain; charset=us-ascii
Subject: Warning: message 1tI8Wx-0004Aa-1p delayed 24 hours
Message-Id: <E1tIVbq-0007Cd-0x@mx.practice.example>
Date: Thu, 03 Dec 2026 10:02:00 +0000

This message was created automatically by mail delivery software.
A message that you sent has not yet been delivered to one or more of its
recipients after more than 24 hours on the queue on mx.practice.example.

The message identifier is:     1tI8Wx-0004Aa-1p
The subject of the message is: GPC England bulletin - December 2026
The date of the message is:    Wed, 02 Dec 2026 09:59:58 +0000

The address to which the message has not yet been delivered is:

  $rcpt
    host mail.practice.example [192.0.2.25]
    Delay reason: SMTP error from remote mail server after RCPT TO:<$rcpt>:
    452 4.2.2 <$rcpt>: Mailbox full

No action is required on your part. Delivery attempts will continue for
some time, and this warning may be repeated at intervals if the message
remains undelivered. Eventually the mail delivery software will give up,
and when that happens, the message will be returned to you.
"""

EXCHANGE_OUT_OF_OFFICE = """\
From: Dr Sam Example <$rcpt>
To: GPC England <$verp>
Subject: Automatic reply: GPC England bulletin - December 2026
Thread-Topic: GPC England bulletin - December 2026
Date: Wed, 2 Dec 2026 10:00:09 +0000
Message-ID: <c3d4e5f6@AM9PR01MB7000.eurprd01.prod.exchangelabs.com>
In-Reply-To: <0f3c2a9e@bulletin.example>
Auto-Submitted: auto-generated
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: $rcpt
Content-Language: en-GB
MIME-Version: 1.0
Content-Type: text/plain; charset="us-ascii"

I am out of the surgery until Monday 7 December. For anything urgent please
contact the practice manager.

> Unsubscribe: https://bulletin.example/u/$token
"""

VACATION_REPLY = """\
Return-Path: <$rcpt>
Delivered-To: $verp
From: Dr Sam Example <$rcpt>
To: $verp
Subject: Re: GPC England bulletin - December 2026
Auto-Submitted: auto-replied (vacation)
Precedence: bulk
Date: Wed, 02 Dec 2026 10:00:12 +0000
Message-ID: <vacation.1796205612@practice.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thank you for your message. I am on annual leave and will reply on my return.
"""

SPAM = """\
Return-Path: <promo@offers.example>
From: "Prize Department" <promo@offers.example>
To: unsubscribe@bulletin.example
Subject: Congratulations, you have been selected!!!
Date: Wed, 02 Dec 2026 03:14:15 +0000
Message-ID: <win.9999@offers.example>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<html><body><p>Claim your reward now: <a href="https://offers.example/claim">click here</a></p></body></html>
"""

SPAM_FAKE_BOUNCE = """\
Return-Path: <>
From: Mail Delivery System <MAILER-DAEMON@mail-notice.example>
To: unsubscribe@bulletin.example
Subject: Undelivered Mail Returned to Sender
Date: Wed, 02 Dec 2026 04:00:00 +0000
Message-ID: <fake.1@mail-notice.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

Your mailbox quota is full. 5 messages were not delivered.
Verify your account at https://mail-notice.example/verify to release them.
"""

FORGED_DSN = """\
Return-Path: <>
From: MAILER-DAEMON@mx.attacker.example (Mail Delivery System)
To: $forged
Subject: Undelivered Mail Returned to Sender
Date: Wed, 02 Dec 2026 05:00:00 +0000
Message-Id: <forged.1@mx.attacker.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="FORGED"

--FORGED
Content-Type: text/plain; charset=us-ascii

Your message could not be delivered.

--FORGED
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.attacker.example

Final-Recipient: rfc822; $rcpt
Action: failed
Status: 5.1.1

--FORGED--
"""

MAILTO_UNSUBSCRIBE = """\
Return-Path: <$rcpt>
Delivered-To: unsubscribe@bulletin.example
From: Dr Sam Example <$rcpt>
To: unsubscribe@bulletin.example
Subject: unsubscribe $token
Date: Wed, 02 Dec 2026 11:00:00 +0000
Message-ID: <unsub.1@practice.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

"""

MAILTO_UNSUBSCRIBE_IN_BODY = """\
From: Dr Sam Example <$rcpt>
To: "GPC England" <unsubscribe@bulletin.example>
Subject: Unsubscribe
Date: Wed, 02 Dec 2026 11:05:00 +0000
Message-ID: <unsub.2@practice.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Please take me off the list.

unsubscribe $token
"""

HUMAN_REPLY = """\
From: Dr Sam Example <$rcpt>
To: info.gpc@bulletin.example
Subject: Re: GPC England bulletin - December 2026
Date: Wed, 02 Dec 2026 12:00:00 +0000
Message-ID: <reply.1@practice.example>
In-Reply-To: <0f3c2a9e@bulletin.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Thank you, a question about item 3: who do we contact?

> Unsubscribe: https://bulletin.example/u/$token
"""


@dataclass(frozen=True)
class Shape:
    name: str
    template: str
    kind: Kind
    status: str | None = None


SHAPES = (
    Shape("postfix-failed", POSTFIX_FAILED, Kind.PERMANENT, "5.1.1"),
    Shape("postfix-delayed", POSTFIX_DELAYED, Kind.TEMPORARY, "4.2.2"),
    Shape("exchange-failed", EXCHANGE_FAILED, Kind.PERMANENT, "5.1.10"),
    Shape("exchange-delayed", EXCHANGE_DELAYED, Kind.TEMPORARY, "4.4.7"),
    Shape("gmail-failed", GMAIL_FAILED, Kind.PERMANENT, "5.1.1"),
    Shape("gmail-delayed", GMAIL_DELAYED, Kind.TEMPORARY, "4.2.2"),
    Shape("exim-failed", EXIM_FAILED, Kind.PERMANENT, "5.1.1"),
    Shape("exim-delayed", EXIM_DELAYED, Kind.TEMPORARY, "4.2.2"),
    Shape("exchange-out-of-office", EXCHANGE_OUT_OF_OFFICE, Kind.AUTO_REPLY),
    Shape("vacation", VACATION_REPLY, Kind.AUTO_REPLY),
    Shape("spam", SPAM, Kind.OTHER),
    Shape("spam-fake-bounce", SPAM_FAKE_BOUNCE, Kind.OTHER),
    Shape("forged-dsn", FORGED_DSN, Kind.UNTOKENED),
    Shape("mailto-unsubscribe", MAILTO_UNSUBSCRIBE, Kind.UNSUBSCRIBE),
    Shape("mailto-unsubscribe-body", MAILTO_UNSUBSCRIBE_IN_BODY, Kind.UNSUBSCRIBE),
    Shape("human-reply", HUMAN_REPLY, Kind.OTHER),
)
BY_NAME = {s.name: s for s in SHAPES}


def message(shape: Shape, *, verp: str, rcpt: str, token: str) -> bytes:
    """One message of this shape, with CRLF line ends as a mailbox holds them."""
    forged = verp.rsplit("-", 1)[0] + "-" + "0" * 20 + "@" + verp.rpartition("@")[2]  # a wrong signature
    text = Template(shape.template).substitute(verp=verp, rcpt=rcpt, token=token, forged=forged)
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8")
