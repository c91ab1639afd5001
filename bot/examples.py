"""A realistic example panel on the MLE rubric, for docs/ and the demo.

Four interviewers; System design splits the panel (Junior, Junior, Lead, Lead);
nobody assesses Inclusiveness (a coverage gap); the recommendations fall on both
sides of hire / no hire (a split decision, with a Strong no).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rubric import Rubric, load_builtin
from storage.views import InterviewView, PanelistFeedback, RatingView, Standing, SummaryData

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)

# interviewer -> (focus skills, recommendation, notes, {skill: (level or None, evidence)})
PANEL: dict[str, tuple[tuple[str, ...], str, str, dict[str, tuple[str | None, str]]]] = {
    "U0PRIYA": (
        ("system_design", "ml_workflows"),
        "no",
        "Strong on ML fundamentals, but the serving design missed failure modes entirely.",
        {
            "system_design": (
                "junior",
                "Single-box design; no thought on retries or backpressure.",
            ),
            "ml_workflows": ("senior", "Walked through feature store, training and eval cleanly."),
            "fundamentals": (
                "senior",
                "Explained bias/variance trade-offs with concrete examples.",
            ),
            "libraries_frameworks": ("senior", "Knows PyTorch internals around autograd."),
        },
    ),
    "U0MARCO": (
        ("system_design", "engineering_practices"),
        "strong_no",
        "Could not explain how the pipeline they built was deployed or monitored.",
        {
            "system_design": ("junior", "Unclear on queues vs. batch; no monitoring story."),
            "engineering_practices": ("junior", "No tests in the take-home; no CI mentioned."),
            "fundamentals": ("senior", "Solid statistics."),
            "inclusiveness": (None, ""),
        },
    ),
    "U0SUN": (
        ("system_design", "communication"),
        "yes",
        "Led a platform migration; explained trade-offs to non-engineers very well.",
        {
            "system_design": (
                "lead",
                "Designed a multi-region feature-serving layer with clear SLOs.",
            ),
            "communication": ("senior", "Clear, structured, checked for understanding."),
            "fundamentals": ("senior", "Good grasp of evaluation metrics."),
            "planning": ("senior", "Broke the migration into safe, reversible steps."),
        },
    ),
    "U0ALEX": (
        ("system_design", "ownership"),
        "strong_yes",
        "Owns problems end to end; the strongest system design answer I have seen this quarter.",
        {
            "system_design": (
                "lead",
                "Reference architecture with a PoC plan and fault injection.",
            ),
            "ownership": ("lead", "Took over an abandoned model and got it to production."),
            "fundamentals": ("senior", ""),
            "team_first": ("senior", "Pairs with juniors every week."),
        },
    ),
}

# Display names, as users.info gives them (the heatmap and the text show these).
NAMES = {
    "U0PRIYA": "Priya Raman",
    "U0MARCO": "Marco Bianchi",
    "U0SUN": "Sun Park",
    "U0ALEX": "Alex Morgan",
}


def example_summary_data(
    rubric: Rubric | None = None, *, after_summary: str | None = None
) -> SummaryData:
    """The example panel as the summary sees it.

    ``after_summary`` names one interviewer whose feedback came after the summary was
    posted (shown in the thread, not counted); the summary is then marked as posted.
    """
    rubric = rubric or load_builtin()
    interview = InterviewView(
        interview_id=42,
        candidate="Ada Lovelace",
        role="Senior ML Engineer",
        target_level="senior",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        state="summarised",
        hiring_channel="C0HIRING",
        recruiter="U0RECRUIT",
        hiring_lead="U0LEAD",
    )
    submitted = START + timedelta(hours=3)
    feedback = tuple(
        PanelistFeedback(
            interviewer=who,
            focus_skills=focus,
            recommendation=recommendation,
            notes=notes,
            ratings=tuple(
                RatingView(skill, level, evidence) for skill, (level, evidence) in ratings.items()
            ),
            submitted_at=submitted,
            updated_at=submitted,
            standing=Standing.AFTER_SUMMARY if who == after_summary else Standing.COUNTED,
        )
        for who, (focus, recommendation, notes, ratings) in PANEL.items()
    )
    return SummaryData(
        interview=interview,
        rubric=rubric,
        expected=tuple(PANEL),
        feedback=feedback,
        missing=(),
        summary_channel="C0HIRING",
        summary_ts="1772355600.000100" if after_summary else None,
    )


# A one-skill rubric: a small modal, for load and crash tests and benchmarks that are
# about serving many submissions, not about a 30 kB view Slack echoes back whole.
SMALL_RUBRIC = """\
id: small
name: Small
version: "1"
levels:
  - {id: junior, name: Junior}
  - {id: senior, name: Senior}
  - {id: lead, name: Lead}
recommendations:
  - {id: "no", name: "No", hire: false}
  - {id: "yes", name: "Yes", hire: true}
roles:
  - {id: engineer, name: Engineer, target_level: senior}
disciplines:
  - id: core
    name: Core
    skills:
      - id: fundamentals
        name: Fundamental knowledge
        question: "How deep is their knowledge?"
        levels:
          junior: {short: Functional knowledge, full: Possesses functional knowledge.}
          senior: {short: Wide and deep in some areas, full: Wide and in-depth knowledge.}
          lead: {short: Redefines concepts, full: Redefines concepts for the domain.}
"""
