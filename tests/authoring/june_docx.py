"""The June 2026 bulletin as a comms officer writes it in Word, built in code.

`JUNE` is the draft: one entry a paragraph, as (style, text). Text marks hyperlinks as
[words](url) and bold as **words**; "IMAGE" is the picture, "BOOKMARK" a bookmark before
the paragraph. `build_docx` writes it with python-docx, plus raw OOXML where python-docx
has no API (hyperlinks, bookmarks, tracked changes).
"""

from __future__ import annotations

import re
import struct
import zlib
from datetime import datetime
from io import BytesIO
from pathlib import Path

import docx
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Inches

BMA = "https://www.bma.org.uk"
CA = f"{BMA}/our-campaigns/gp-campaign/gp-collective-action"
IMAGE_ALT = "GPC England collective action, June 2026: practices make their own prescribing decisions"

JUNE: list[tuple[str, str]] = [
    ("Normal", "Dear colleagues"),
    ("Heading 2", "New collective action for practices in June [practice, lmc]"),
    ("Normal", "IMAGE"),
    ("Normal", "From 1 June, we are urging GP partnerships and practices across England to take part in a further collective action, in the face of the Government’s continued intransigence. We’re thankful to every practice that has taken part in collective action around data sharing agreements during May to stay safe and sustainable in the face of the 2026/27 imposed GP contract. We sincerely hoped that an escalation in action could be averted but unfortunately, the Government remains unwilling to agree to the mitigations the profession needs."),
    ("Normal", "This is why we are asking you to start a new action alongside the ongoing action on DSAs (practice data sharing agreements) that we launched last month. During June, we are asking practices to remove or ignore any non-contractual medicines optimisation software and amend your choices of acute prescription, which may fall outside the remit of the ICB formulary. This may include, for example, issuing a branded or liquid formulation that may still be a perfectly acceptable and justifiable choice for the care of the patient in front of you in the consultation."),
    ("Normal", "Taking part in this action is **lawful**. We know some of you may have this software added onto your system or prescribing incentives as part of a locally commissioned service, and your LMC may be able to advise you as to the position in your local area. See our Focus On guidance below too."),
    ("Normal", "We recognise that many of you may have kept medicine optimisation software switched off since it was part of the 2024 collective action so focus on your acute prescribing choices."),
    ("Normal", "Ensure safe prescribing decisions are determined by you, rather than driven by the financial imperatives of the DHSC which is refusing to amend the undeliverable imposed 2026/27 GMS contract."),
    ("Normal", "Prescribe whatever may be in the best interests of your patient in line with GMC guidance. Your patients will see minimal impact and will receive a prescription appropriate for their clinical presentation. The impacts on ICB prescribing budgets will be dwarfed by Acute Trust overspend, which is perpetually ‘written off’ by Government."),
    ("Normal", ""),
    ("Normal", f"[Read our Focus on guidance on Switching off medicines optimisation software]({BMA}/advice-and-support/gp-practices/gp-contract/focus-on-switching-off-medicines-optimisation-software)"),
    ("Normal", f"[Access our resources to help you understand the need to take part in this collective action]({CA})"),
    ("Heading 2", "May 2026 GP collective action – Next Steps on Data Sharing [practice, lmc]"),
    ("Normal", "Central to the ongoing collective action for May remains the request that practices send a template letter to their local system to assess each existing DSA the practice is currently signed up to, while indicating you will examine voluntary secondary use data sharing agreements (DSAs) from May 2026."),
    ("Normal", "With many practices now having received responses from their ICB, GPC England has drafted a second template for practices to use where they have received a stock response from their ICB – this response will contain an early paragraph starting ‘As you note’ and a header ‘The limited ICB role.’"),
    ("Normal", f"Given the range of responses we know practices will have received, it is not possible to generate a template that works universally, however the document that we have produced should speak to the fullest range of replies. Practices should carefully consider each part and determine whether or not to include it in any response they provide to their ICB. [The template can be found here]({BMA}/advice-and-support/gp-practices/gp-contract/dsa-second-template-letter-for-icb-responses). Please get this sent off when you receive a response."),
    ("Normal", f"[Access our resources to help you understand the need to take part in this collective action]({CA})"),
    ("Normal", "Taking part in this action does not breach your contract and will help practices to stay safe and put pressure on the Government to secure safeguards for practices."),
    ("Normal", f"[Read about the 26/27 contract changes and our dispute with Government]({BMA}/pay-and-contracts/contracts/gp-contract/gp-contract-changes-england-2026-27)"),
    ("Heading 2", "GPC England vote to explore an alternative strategy for general practice"),
    ("Normal", f"BOOKMARKOn May 21st, GPC England voted overwhelmingly to ballot GPs in England on a ‘Plan B’, or an alternative strategy for general practice that would allow GPs greater freedom to provide private services to their patients. This follows the passing of a resolution at UK LMC Conference in Belfast last month which called for the consideration of a means-tested, subscription-based service, or a hybrid model such as that offered currently by dentistry in England. GPCE will be engaging in an extensive consultation of the wider profession on their support for an alternative contracting arrangement for general practice across England over the summer. [Read more]({BMA}/news-and-opinion/gpc-england-votes-to-ballot-gps-on-an-alternative-strategy-for-general-practice)"),
    ("Heading 2", "NHS Modernisation Bill and Single Patient Record"),
    ("Normal", "The NHS Modernisation Bill (the ‘Health Bill’), which includes the introduction of a Single Patient Record (SPR), had its second reading in Parliament on Monday 1 June."),
    ("Quote", "While the idea of an SPR may sound appealing, we have real concerns around what it means for the security and confidentiality of all patient data. GPs have protected patients’ confidential records since the inception of the NHS in 1948 – a legal duty we take incredibly seriously. However, we need clarity around this important GP oversight and around who is safeguarding patients' confidential data."),
    ("Quote", "We must make sure that this law does not open up possibilities for patient data to be used inappropriately for purposes that patients would not reasonably expect, and that existing high standards of data governance and protections continue to apply to promote public confidence that their data is held safely and handled with respect."),
    ("Quote", "It remains unclear what form the SPR will take and if it will build on existing technologies, such as GP Connect, or if it will require a wholesale duplication of existing health records with control of this copy given to Government."),
    ("Normal", "— Dr David Wrigley, GPC England deputy chair"),
    ("Normal", f"[Read the full statement by Dr David Wrigley, GPC England deputy chair]({BMA}/bma-media-centre/nhs-modernisation-bill-and-single-patient-record-gpc-england-statement)"),
    ("Heading 2", "UK Biobank data breach [practice, lmc]"),
    ("Normal", "UK Biobank has just published its report into what happened surrounding the offering for sale of participant health data on a website owned by the Alibaba Group in China earlier this year. UK Biobank has agreed to meet the Joint GP IT Committee later in the year so the implications of recent events can be discussed."),
    ("Normal", f"We wish to reassure practices that participant data from general practice systems is not currently flowing to UK Biobank from the repurposed GDPPR pandemic dataset that NHS England controls even though a Data Direction is in place. If patients who are participants raise concerns with practices they should be directed to UK Biobank. The report can be viewed [here]({BMA}/advice-and-support/gp-practices/managing-patient-data/uk-biobank-data-breach-report)"),
    ("Heading 2", "GP engagement on the use of patient data [practice, lmc]"),
    ("Normal", "The Department of Health & Social Care are running an engagement exercise for GPs and practice managers to provide their views on how patient data is used across the NHS. See [https://dataengagement.kscopehealth.org.uk/](https://dataengagement.kscopehealth.org.uk/) if you wish to take part."),
    ("Heading 2", "Neighbourhoods and IHOs (Integrated Health Organisations) [practice, lmc]"),
    ("Normal", "The BMA has published a new briefing on the ongoing development of neighbourhoods and IHOs in England, which are central to DHSC’s proposed ‘left shift’ of care out of hospitals and into communities. Neighbourhood models and IHOs will have significant implications for all parts of the NHS but especially for general practice, with IHOs in particular posing a critical threat to the partnership model."),
    ("Normal", "Any questions regarding this work – or updates on local developments – can be shared with the BMA at [info.healthcare.delivery@bma.org.uk](mailto:info.healthcare.delivery@bma.org.uk)"),
    ("Heading 2", "GPCE officer elections"),
    ("Normal", "Elections for the GPC England Chair and Deputy Chairs are upcoming and will run to the following timeline:"),
    ("Normal", "Nominations open – midday on 25 June 2026"),
    ("Normal", "Nominations close – midday on 2 July 2026"),
    ("Normal", "Candidate statements shared with committee – 2 July 2026"),
    ("Normal", "Hustings and voting will take place at the start of the GPC England meeting on 9 July 2026"),
    ("Normal", "Please note that out of the three Deputy Chairs of GPC England, one of these does not need to be a GPC England member at the time of election. It is for this reason that the details of these elections are being shared beyond GPC England committee members, as this means GP BMA members based in England are eligible to stand for one of the Deputy Chair of GPC England roles. The voting membership for these elections is voting GPC England committee members."),
    ("Normal", "Please look out for further updates which will be shared in upcoming bulletin publications and emails from the BMA."),
    ("Normal", "In the meantime, should you have any questions regarding this election, please email [elections@bma.org.uk](mailto:elections@bma.org.uk)"),
    ("Heading 2", "GP Registrars and trainers demand action on FourteenFish"),
    ("Normal", "The GP registrars committee (GPRC) remain concerned about the ongoing issues with the FourteenFish ePortfolio platform, including the withdrawal of the Consult function and wider operational problems following changes introduced by Optum."),
    ("Normal", "Over recent months, GP registrars, trainers and TPDs have experienced the negative impact these changes are having on training, WPBAs, consultation recording, SCA preparation and progression towards ARCP. Therefore, GPRC have launched a petition for GP registrars and trainers, that calls for:"),
    ("List Bullet", "urgent mitigations to address the impact of ongoing platform issues;"),
    ("List Bullet", "express serious concerns about Optum’s ability to provide a reliable and sustainable service that meets the needs of GP registrars and trainers;"),
    ("List Bullet", "call on the RCGP to engage with registrars on the long-term future of the ePortfolio platform, including consideration of alternative provision models."),
    ("Normal", "We’d encourage all GP registrars and trainers who are concerned, to sign the petition."),
    ("Normal", f"[Sign the GPRC petition about FourteenFish]({BMA}/our-campaigns/gp-registrars/fourteenfish-eportfolio-petition)"),
    ("Heading 2", "Rebuild General Practice petition"),
    ("Normal", "General practice is the front door to the NHS — but it is under increasing pressure. Patients are finding it harder to access care, and GPs are struggling to provide the continuity and quality of care they were trained to deliver."),
    ("Normal", f"Rebuild General Practice has launched a petition calling on government to restore capacity, protect continuity of care, and secure the future of the family doctor model. You can sign the petition [here]({BMA}/our-campaigns/gp-campaign/rebuild-general-practice-petition)"),
    ("Normal", f"[Sign the Rebuild General Practice petition]({BMA}/our-campaigns/gp-campaign/rebuild-general-practice-petition)"),
    ("List Bullet", f"[The BMA’s GP campaign webpage]({BMA}/our-campaigns/gp-campaign)"),
    ("List Bullet", f"[The GPCE Collective Action page]({CA})"),
    ("List Bullet", f"[GPCE Safe Working Guidance Handbook]({BMA}/advice-and-support/gp-practices/managing-workload/safe-working-in-general-practice)"),
    ("List Bullet", f"[Read more about the work of GPC England and practical guidance for GP practices]({BMA}/what-we-do/committees/general-practitioners-committee/gpc-england)"),
    ("List Bullet", f"[See the latest update on X @BMA_GP](https://x.com/BMA_GP) and [read about BMA in the media]({BMA}/bma-media-centre)"),
    ("Normal", ""),
    ("Normal", "Dr David Wrigley"),
    ("Normal", "GPC England deputy chair"),
    ("Normal", "Email: [dwrigley@bma.org.uk](mailto:dwrigley@bma.org.uk)"),
    ("Normal", "Email: [info.lmcqueries@bma.org.uk](mailto:info.lmcqueries@bma.org.uk) (for LMC queries)"),
    ("Normal", "Email: [info.gpc@bma.org.uk](mailto:info.gpc@bma.org.uk) (for GPs and practices)"),
]
SUBJECT = "GPCE bulletin: Collective action for June | alternative strategy for general practice | single patient record"
# The registrars' petition gets its audience from a Word comment, as staff would add it.
COMMENTED_HEADING = "GP Registrars and trainers demand action on FourteenFish"
_MARKUP = re.compile(r"\[([^\]]+)\]\(([^)]+)\)|\*\*([^*]+)\*\*")


def png(width: int = 4, height: int = 2) -> bytes:
    """A small valid PNG (python-docx reads its size from the header)."""
    raw = b"".join(b"\x00" + b"\x1f\x4e\x79" * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def add_hyperlink(paragraph: docx.text.paragraph.Paragraph, text: str, url: str) -> None:
    rid = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rid)
    run = OxmlElement("w:r")
    props = OxmlElement("w:rPr")
    style = OxmlElement("w:rStyle")
    style.set(qn("w:val"), "Hyperlink")
    props.append(style)
    run.append(props)
    t = OxmlElement("w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run.append(t)
    link.append(run)
    paragraph._p.append(link)


def add_text(paragraph: docx.text.paragraph.Paragraph, text: str) -> None:
    """Runs for plain text, **bold** and [links](url)."""
    pos = 0
    for found in _MARKUP.finditer(text):
        if found.start() > pos:
            paragraph.add_run(text[pos : found.start()])
        if found[1]:
            add_hyperlink(paragraph, found[1], found[2])
        else:
            paragraph.add_run(found[3]).bold = True
        pos = found.end()
    if pos < len(text):
        paragraph.add_run(text[pos:])


def add_bookmark(paragraph: docx.text.paragraph.Paragraph, name: str) -> None:
    start = OxmlElement("w:bookmarkStart")
    start.set(qn("w:id"), "0")
    start.set(qn("w:name"), name)
    end = OxmlElement("w:bookmarkEnd")
    end.set(qn("w:id"), "0")
    paragraph._p.append(start)
    paragraph._p.append(end)


def build_document(paragraphs: list[tuple[str, str]] = JUNE, comment: bool = True) -> docx.document.Document:
    document = docx.Document()
    document.core_properties.title = SUBJECT
    document.core_properties.created = datetime(2026, 6, 4, 9, 0)
    document.core_properties.subject = "New collective action from 1 June, DSA next steps, a Plan B ballot, the single patient record and elections"
    for style, text in paragraphs:
        paragraph = document.add_paragraph(style=style)
        if text == "IMAGE":
            paragraph.add_run().add_picture(BytesIO(png(1200, 600)), width=Inches(5.75))
            paragraph._p.xpath(".//wp:docPr")[0].set("descr", IMAGE_ALT)
            continue
        if text.startswith("BOOKMARK"):
            add_bookmark(paragraph, "_Hlk207983221")
            text = text[len("BOOKMARK") :]
        add_text(paragraph, text)
        if comment and text == COMMENTED_HEADING:
            document.add_comment(paragraph.runs, text="audiences: registrar", author="Comms Officer", initials="CO")
    return document


def build_docx(path: Path, paragraphs: list[tuple[str, str]] = JUNE) -> Path:
    build_document(paragraphs).save(str(path))
    return path
