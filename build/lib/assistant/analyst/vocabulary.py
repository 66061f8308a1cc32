"""Who and what the analyst views talk about: the parties (with the names, officials and capitals that stand for
them), the issues (with the words that mark them), the words that make a sentence a statement of position, and
the words that make a dated sentence an event.

Matching is on the raw sentence with case-sensitive patterns where case matters ("US" the country, not "us" the
pronoun; "May" the month is handled in ``dates``). Everything is data: adding a party or an issue is one entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Party:
    """A party of the stance board. ``pattern`` matches its names, officials and capitals in a sentence;
    ``voice`` matches an article's publisher when the article speaks for this party (its "we" is the party)."""

    key: str
    name: str
    pattern: re.Pattern[str]
    query: str  # words added to the retrieval query for this party
    voice: re.Pattern[str] | None = None
    core: bool = True  # always on the board; others only when the corpus names them often

    def named_in(self, text: str) -> list[re.Match[str]]:
        return list(self.pattern.finditer(text))


@dataclass(frozen=True)
class Issue:
    """An issue of the stance board: ``pattern`` marks a sentence as being about it; ``query`` feeds retrieval."""

    key: str
    label: str
    pattern: re.Pattern[str]
    query: str


def _p(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


PARTIES: tuple[Party, ...] = (
    Party(
        "russia",
        "Russia",
        _p(
            r"\bRussia(?:n|ns)?\b|\bRussian Federation\b|\bMoscow\b|\bKremlin\b|\bPutin\b|\bLavrov\b|\bPeskov\b|"
            r"\bMedinsky\b|\bKozak\b|\bUshakov\b|\bDmitriev\b"
        ),
        "Russia Russian Putin Kremlin Moscow",
        voice=_p(r"President of Russia|Kremlin|Russian Ministry|Embassy of Russia|Russian Federation"),
    ),
    Party(
        "ukraine",
        "Ukraine",
        _p(
            r"\bUkrain(?:e|ian|ians)\b|\bKyiv\b|\bKiev\b|\bZelensk(?:yy|y|iy)\b|\bPoroshenko\b|\bKuleba\b|"
            r"\bYermak\b|\bUmerov\b|\bSybiha\b|\bVerkhovna Rada\b"
        ),
        "Ukraine Ukrainian Zelenskyy Kyiv",
        voice=_p(r"President of Ukraine|Ministry of Foreign Affairs of Ukraine|Government of Ukraine"),
    ),
    Party(
        "united_states",
        "United States",
        _p(
            r"\bUnited States\b|\bU\.S\.(?:A\.)?|\bUS\b|\bUSA\b|\bAmerican?s?\b|\bWashington\b|\bTrump\b|\bBiden\b|"
            r"\bBlinken\b|\bRubio\b|\bWaltz\b|\bWitkoff\b|\bVance\b|\bState Department\b|\bWhite House\b|"
            r"\bDorothy Shea\b"
        ),
        "United States U.S. Washington Trump Rubio Blinken",
        voice=_p(r"U\.S\. Department of State|United States|Voice of America|White House"),
    ),
    Party(
        "european_union",
        "European Union",
        _p(
            r"\bEuropean Union\b|\bEU\b|\bE\.U\.|\bBrussels\b|\bvon der Leyen\b|\bBorrell\b|\bKallas\b|"
            r"\bEuropean states\b"
        ),
        "European Union EU Brussels",
        voice=_p(r"European Union|European Commission|European Council"),
    ),
    Party(
        "turkey",
        "Turkey",
        _p(r"\bTurkey\b|(?:\bRepublic of )?\bT[üu]rkiye\b|\bTurkish\b|\bAnkara\b|\bErdo[gğ]an\b|\bFidan\b"),
        "Turkey Türkiye Turkish Erdogan Ankara",
        voice=_p(r"Republic of T[üu]rkiye|Turkish Ministry"),
    ),
    Party(
        "united_nations",
        "United Nations",
        _p(
            r"\bUnited Nations\b|\bUN\b|\bU\.N\.|\bSecretary-General\b|\bGuterres\b|\bSecurity Council\b|\bUNSC\b|"
            r"\bGeneral Assembly\b|\bUNGA\b"
        ),
        "United Nations UN Security Council General Assembly Secretary-General",
        voice=_p(r"United Nations"),
    ),
    # Named often enough in some corpora to earn a row; kept only when the corpus does (see ``MIN_PARTY_MENTIONS``).
    Party("nato", "NATO", _p(r"\bNATO\b|\bNorth Atlantic\b|\bRutte\b|\bStoltenberg\b"), "NATO alliance", core=False),
    Party("osce", "OSCE", _p(r"\bOSCE\b|\bOrganization for Security and Co-operation\b"), "OSCE", core=False),
    Party("belarus", "Belarus", _p(r"\bBelarus(?:ian)?\b|\bLukashenko\b"), "Belarus Lukashenko", core=False),
    Party("china", "China", _p(r"\bChina\b|\bChinese\b|\bBeijing\b|\bXi Jinping\b"), "China Beijing", core=False),
    Party(
        "united_kingdom",
        "United Kingdom",
        _p(r"\bUnited Kingdom\b|\bUK\b|\bU\.K\.|\bBritain\b|\bBritish\b"),
        "United Kingdom Britain",
        core=False,
    ),
    Party("france", "France", _p(r"\bFrance\b|\bFrench\b|\bMacron\b"), "France Macron", core=False),
    Party(
        "germany", "Germany", _p(r"\bGermany\b|\bGerman\b|\bScholz\b|\bMerz\b|\bSteinmeier\b"), "Germany", core=False
    ),
    Party("g7", "G7", _p(r"\bG7\b|\bG-7\b|\bGroup of Seven\b"), "G7", core=False),
)
PARTY_BY_KEY = {p.key: p for p in PARTIES}
# An extra party gets a row when the corpus names it at least this often, in at least two articles.
MIN_PARTY_MENTIONS = 5
MIN_PARTY_ARTICLES = 2

ISSUES: tuple[Issue, ...] = (
    Issue(
        "territory",
        "Territory and occupied regions",
        _p(
            r"\bterritor(?:y|ies|ial)\b|\boccup(?:y|ied|ies|ation)\b|\bannex(?:ed|ation)?\b|\bCrimea\b|\bDonbas+\b|"
            r"\bDonetsk\b|\bLu[hg]ansk\b|\bZaporizhzhia\b|\bKherson\b|\bprovinces\b|\bborders\b|\bland\b|"
            r"\bwithdraw(?:al)?\b[^.]{0,40}\b(?:troops|forces)\b|\bsovereignty\b|\bspecial status\b",
            re.IGNORECASE,
        ),
        "territory occupied regions Crimea Donbas borders withdrawal of troops annexation sovereignty",
    ),
    Issue(
        "security_guarantees",
        "Security guarantees",
        _p(
            r"\bsecurity (?:guarantees?|assurances?|interests|concerns|framework|ties|arrangements?)\b|"
            r"\bguarantees?\b|\bassurances?\b|\bBudapest Memorandum\b|\bsecurity assistance\b",
            re.IGNORECASE,
        ),
        "security guarantees assurances Budapest Memorandum security assistance",
    ),
    Issue(
        "nato",
        "NATO membership",
        _p(r"\bNATO\b|\bneutral(?:ity)?\b|\bnon-aligned\b|\bmilitary alliance\b|\bjoin the alliance\b"),
        "NATO membership join NATO neutrality neutral status expansion",
    ),
    Issue(
        "ceasefire",
        "Ceasefire terms",
        _p(
            r"\bcease-?fire\b|\btruce\b|\barmistice\b|\bcessation\b|\bhalt (?:hostilities|the war|the fighting)\b|"
            r"\bstop(?:ping)? (?:the )?(?:fighting|shooting|killing|war)\b|\bend (?:the|this) (?:war|conflict)\b|"
            r"\bhostilities\b|\bend to the (?:war|conflict)\b",
            re.IGNORECASE,
        ),
        "ceasefire truce armistice terms end hostilities stop the fighting",
    ),
    Issue(
        "humanitarian",
        "Prisoners and humanitarian steps",
        _p(
            r"\bprisoners?\b|\bPOWs?\b|\bhostages?\b|\bdetained\b|\bdeport(?:ed|ation)\b|\bchildren\b|"
            r"\bhumanitarian\b|\bexchange of\b|\bexchanges\b|\bcivilians?\b",
            re.IGNORECASE,
        ),
        "prisoners exchange hostages detained humanitarian steps deported children civilians",
    ),
    Issue(
        "sanctions",
        "Sanctions",
        _p(r"\bsanctions?\b|\bsanctioned\b|\bembargo\b|\bfrozen assets\b|\btariffs?\b", re.IGNORECASE),
        "sanctions embargo frozen assets economic pressure",
    ),
    Issue(
        "monitoring",
        "Peacekeepers and monitoring",
        _p(
            r"\bpeace-?keep(?:ers?|ing)\b|\bmonitor(?:s|ing|ed)?\b|\bverification\b|\bverify\b|\bobservers?\b|"
            r"\bbuffer zone\b|\bsecurity area\b|\binspections?\b|\bJoint Coordination Cent(?:re|er)\b",
            re.IGNORECASE,
        ),
        "peacekeepers monitoring verification observers buffer zone inspection",
    ),
    Issue(
        "black_sea",
        "Black Sea shipping",
        _p(
            r"\bBlack Sea\b|\bgrain\b|\bshipping\b|\bships?\b|\bvessels?\b|\bports?\b|\bnavigation\b|\bmaritime\b|"
            r"\bfoodstuffs\b|\bfertili[sz]ers?\b|\bfood exports?\b|\bexports of food\b",
            re.IGNORECASE,
        ),
        "Black Sea shipping grain initiative ports safe navigation vessels food exports",
    ),
)
ISSUE_BY_KEY = {i.key: i for i in ISSUES}

# A sentence states a position when a party is the one doing one of these (close before it, or "Russia's terms").
STANCE_CUES = re.compile(
    r"\b(?:agree[sd]?|agreement|accept(?:s|ed|ance)?|support(?:s|ed|ing)?|propos(?:e|es|ed|al|als)|offer(?:s|ed)?|"
    r"call(?:s|ed)? (?:for|on)|urge[sd]?|seek(?:s|ing)?|sought|wants?|demand(?:s|ed|ing)?|insist(?:s|ed|ence)?|"
    r"ready|readiness|willing(?:ness)?|commit(?:s|ted|ment)|reaffirm(?:s|ed)?|reiterat(?:e|es|ed)|recogni[sz]es?|"
    r"endorse[sd]?|aims? to|focus(?:es|ed)? on|terms|position|insists?|must|should|will|refus(?:e|es|ed)|"
    r"facilitat(?:e|es|ed|ing)|made clear|make clear|"
    r"reject(?:s|ed)?|oppos(?:e|es|ed|ition)|den(?:y|ies|ied)|suspen(?:d|ds|ded|sion)|veto(?:ed)?|"
    r"criticiz(?:e|es|ed)|criticis(?:e|es|ed)|condemn(?:s|ed)?|regret(?:s|ted)?|decision|pledge[sd]?|"
    r"express(?:es|ed)|claim(?:s|ed)|demanding|insisting|calls|plan to|intends?|declared?|stated|"
    r"renewed calls|impos(?:e|es|ed)|provid(?:e|es|ed|ing)|signatory|signed|thankful|welcome[sd]?|implores?|"
    r"encourage[sd]?|appl(?:y|ied) to|convey)\b",
    re.IGNORECASE,
)
# Possessive position nouns: "Russia's terms", "Ukraine's demand for ...", "Russia's insistence on ...".
POSITION_NOUNS = re.compile(
    r"^['’]s\s+(?:\w+\s+){0,2}?(?:terms|demands?|position|insistence|proposals?|plan|formula|decision|veto|"
    r"objectives?|priorities|red lines|conditions|stance|calls?|request|suspension|readiness|support)\b",
    re.IGNORECASE,
)
NEGATIVE_CUES = re.compile(
    r"\b(?:not|no|never|refus(?:e|es|ed|al)|reject(?:s|ed|ion)?|oppos(?:e|es|ed|ition)|den(?:y|ies|ied)|"
    r"suspen(?:d|ds|ded|sion)|veto(?:ed)?|withdr[ae]w (?:from|its participation)|halt(?:s|ed)?|criticiz(?:e|ed)|"
    r"criticis(?:e|ed)|condemn(?:s|ed)?|stall(?:ing)?|void|regret(?:s|ted)?|interrupt(?:s|ed)?|without result)\b|"
    r"n['’]t\b",
    re.IGNORECASE,
)
POSITIVE_CUES = re.compile(
    r"\b(?:agree[sd]?|accept(?:s|ed|ance)?|support(?:s|ed|ing)?|propos(?:e|es|ed)|offer(?:s|ed)?|ready|readiness|"
    r"willing(?:ness)?|commit(?:s|ted|ment)|reaffirm(?:s|ed)?|endorse[sd]?|welcome[sd]?|resume|signed|"
    r"signatory|pledge[sd]?|thankful|implores?|urge[sd]?|calls? for)\b",
    re.IGNORECASE,
)
# A party named right after one of these is an object or a setting, not the one holding the position
# ("support to Ukraine", "talks in Turkey", "criticism of Russia", "including Ukraine", "Despite Russia's claims"),
# or the subject of what another party says or demands ("Ukraine's terms are that Russia withdraw its troops").
NOT_HOLDER_BEFORE = re.compile(
    r"(?:\b(?:to|in|on|with|against|of|for|from|into|towards?|at|over|about|under|among|than|including|despite|"
    r"between|by|that|supporting|supports?|supported|help(?:ing|ed|s)?|urg(?:e|es|ed|ing)|invad(?:e|es|ed|ing)|"
    r"attack(?:s|ed|ing)?|deter(?:ring)?|pressur(?:e|es|ed|ing)|call(?:s|ed)? on|told|ask(?:s|ed)?|convey)\s+"
    r"(?:the\s+)?|[-–—/])$",
    re.IGNORECASE,
)
FIRST_PERSON = re.compile(r"\b(?:We|we|Our|our|us)\b")

# Event words, by kind: the nearest one to a date decides what happened on it. Verbs ("held", "interrupted",
# "adopted") outrank nouns ("talks", "negotiations", "proposal"): in "interrupted the negotiations in 2022" the talks
# are what stopped, not what happened.
EVENT_KINDS: tuple[tuple[str, re.Pattern[str], re.Pattern[str] | None], ...] = (
    (
        "halt",
        _p(
            r"\b(?:stopp?(?:ed|s)?|interrupt(?:ed|s)?|disrupt(?:ed|s)?|suspen(?:d|ded|ds|sion)|halt(?:ed|s)?|"
            r"broke off|collaps(?:e|ed)|refused|withdrew)\b",
            re.IGNORECASE,
        ),
        None,
    ),
    (
        "resolution",
        _p(r"\b(?:adopted|voted|approved|passed)\b", re.IGNORECASE),
        _p(r"\b(?:resolutions?|votes?|General Assembly)\b", re.IGNORECASE),
    ),
    (
        "agreement",
        _p(r"\b(?:signed|agreed|accepted|concluded|ratified|reaffirmed)\b", re.IGNORECASE),
        _p(
            r"\b(?:signing|agreements?|accord|deal|protocol|communiqu[ée]|memorandum|package of measures|"
            r"signatory|assurances?)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "proposal",
        _p(r"\b(?:proposed|offered|suggest(?:ed|s)?|presenting|presented|called for|propose)\b", re.IGNORECASE),
        _p(r"\b(?:proposals?|offer|peace plan|plan)\b", re.IGNORECASE),
    ),
    (
        "exchange",
        _p(r"\b(?:exchanged|swapped|released|freed)\b", re.IGNORECASE),
        _p(r"\b(?:exchanges?|swaps?|prisoners?|hostages?)\b", re.IGNORECASE),
    ),
    (
        "talks",
        _p(
            r"\b(?:held|took place|met|meet|gathered|resumed?|hosted|visited|discussed|negotiated|convened|"
            r"took important steps)\b",
            re.IGNORECASE,
        ),
        _p(
            r"\b(?:talks|round|meetings?|negotiations?|consultations?|summit|visits?|dialogue|conference|"
            r"conversation)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "military",
        _p(
            r"\b(?:invaded|announced|launched|commencing|began|annexed|occupied|attacked|applied|captured|"
            r"entered)\b",
            re.IGNORECASE,
        ),
        _p(r"\b(?:invasion|annexation|occupation|offensive|counteroffensive|elections?)\b", re.IGNORECASE),
    ),
)
ORDINALS = re.compile(r"\b(first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|last|final)\b", re.I)


def ordinals(text: str) -> set[str]:
    """Ordinal words ("second round", "fifth round"): two reports with different ones are different events."""
    return {m.lower() for m in ORDINALS.findall(text)}
