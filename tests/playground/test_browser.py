"""The playground in a real browser: headless Chromium (Debian's) driven by Selenium.

Starts `deploy-drill playground` as a user would (a subprocess, a free port, a temp
SQLite database), runs the command, answers in the thread, and checks the feedback
the page shows. The screenshot is kept in tests/artifacts/ and docs/playground.png.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import ROOT
from tests.serving import clean_env, free_port
from tests.slack.payloads import STRONG_ANSWER

# Graded "solid": the screenshot shows every part of the feedback (strengths, gaps, a mistake).
SOLID_ANSWER = (
    "First I pin down the use case: is this batch or real-time and what latency budget we have. "
    "I package the model with its preprocessing in a Docker image with pinned dependencies. "
    "I serve it behind an API because the product needs answers in under 100 ms. "
    "We roll out with shadow traffic, then a 5% canary. "
    "After launch I monitor latency and error rate, and we keep the previous version to roll "
    "back to."
)

if TYPE_CHECKING:
    from selenium.webdriver.remote.webelement import WebElement
    from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)),
    reason="no Chromium here: `apt-get install -y chromium chromium-driver` (as .ci/run does)",
)


class Running:
    def __init__(self, url: str, database: Path, process: subprocess.Popen[bytes]) -> None:
        self.url = url
        self.database = database
        self.process = process

    def prompt_recorded(self) -> bool:
        """The bot has stored its prompt's ts (until then a reply is not yet matched to it)."""
        with sqlite3.connect(self.database) as db:
            return db.execute("SELECT 1 FROM prompt WHERE ts IS NOT NULL").fetchone() is not None


@pytest.fixture
def playground(tmp_path: Path) -> Iterator[Running]:
    port = free_port()
    database = tmp_path / "playground.db"
    log = (tmp_path / "playground.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "playground", "--database-url", f"sqlite:///{database}"],
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=clean_env(
            PORT=str(port),
            RUBRICS_DIR=str(ROOT / "rubrics"),
            OUTBOX_POLL_SECONDS="0.2",
        ),
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "healthz", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(
                    "playground did not start:\n" + (tmp_path / "playground.log").read_text()
                )
            time.sleep(0.1)
        yield Running(url, database, process)
    finally:
        process.terminate()
        process.wait(timeout=15)
        log.close()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",  # root in a container
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",  # no calls home: this machine has no network
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1440,1000",
        f"--user-data-dir={tmp_path / 'chromium'}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()


def _page_as(browser: object, url: str, person: str) -> tuple[WebDriverWait[Any], WebElement]:
    """The page opened as `person` (the picker's label): a 20 s wait and the composer."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    wait: WebDriverWait[Any] = WebDriverWait(browser, 20)
    browser.get(url)
    picker = wait.until(ec.element_to_be_clickable((By.ID, "user-picker")))
    Select(picker).select_by_visible_text(person)
    return wait, browser.find_element(By.ID, "composer-input")


def test_run_the_command_answer_in_the_thread_and_see_feedback(
    playground: Running, browser: object, artifacts: Path
) -> None:
    """In the page: /deploy-question deploy-ml-models, answer as Bob, see one screen of
    feedback (score, verdict, strengths, what to add, model answer), open its Details."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    wait = WebDriverWait(browser, 20)
    browser.get(playground.url)
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "#messages .empty")))

    composer = browser.find_element(By.ID, "composer-input")
    composer.send_keys("/deploy-question deploy-ml-models", Keys.ENTER)
    prompt = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '.msg[data-event-type="drill_prompt"]'))
    )
    assert "How do you deploy ML models to production?" in prompt.text
    ack = browser.find_element(By.CSS_SELECTOR, "#messages .msg.ephemeral")
    assert "Only visible to you" in ack.text
    WebDriverWait(browser, 10).until(lambda _: playground.prompt_recorded())

    Select(browser.find_element(By.ID, "user-picker")).select_by_visible_text("Bob")
    wait.until(
        lambda d: "ephemeral" not in d.find_element(By.ID, "messages").get_attribute("innerHTML")
    )
    prompt = browser.find_element(By.CSS_SELECTOR, '.msg[data-event-type="drill_prompt"]')
    prompt.find_element(By.CSS_SELECTOR, "button.replies").click()
    reply = wait.until(ec.visibility_of_element_located((By.ID, "thread-input")))
    reply.send_keys(SOLID_ANSWER, Keys.ENTER)

    feedback = wait.until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, '#thread-messages .msg[data-event-type="drill_feedback"]')
        )
    )
    text = feedback.text
    header = feedback.find_element(By.CSS_SELECTOR, ".bk-header").text
    score, band = header.split("/100 · ")
    assert 50 <= int(score) <= 79 and band in ("developing", "solid")
    assert "Feedback for @Bob" in text
    assert "areas covered" in text  # the one-line verdict
    worked = text.split("What worked")[1].split("What to add next")[0]
    assert worked.count("•") == 2 and "shadow traffic" in worked  # two strengths, quoted
    gaps = text.split("What to add next")[1].split("Mistakes")[0]
    assert gaps.count("•") == 2 and "(partly there)" in gaps  # the two worth the most
    assert "No example" in text.split("Mistakes")[1]  # one line per mistake
    assert "Model 30-second answer" in text
    thumbs = feedback.find_elements(By.CSS_SELECTOR, ".bk-context_actions button.bk-feedback")
    assert len(thumbs) == 2 and "Not fair" in thumbs[1].text  # "Was this fair?"
    assert "Bob" in browser.find_element(By.CSS_SELECTOR, "#thread-messages").text
    reply_count = browser.find_element(By.CSS_SELECTOR, "#messages button.replies").text
    assert reply_count == "2 replies"

    browser.execute_script("arguments[0].scrollIntoView({block: 'start'});", feedback)
    shot = artifacts / "playground.png"
    assert browser.save_screenshot(str(shot))
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    shutil.copyfile(shot, docs / "playground.png")

    feedback.find_element(By.CSS_SELECTOR, 'button[data-action*="drill_details"]').click()
    modal = wait.until(ec.visibility_of_element_located((By.ID, "modal")))
    wait.until(lambda _: "Validates before release" in modal.text)
    assert "Feedback details" in modal.text
    for criterion in ("Starts from the product context", "Backs it with a real example"):
        assert criterion in modal.text
    assert "Tip: Guard the inputs" in modal.text
    assert browser.save_screenshot(str(artifacts / "playground-details.png"))
    modal.find_element(By.ID, "modal-close").click()
    wait.until(ec.invisibility_of_element_located((By.ID, "modal")))


def test_a_modal_opened_by_a_button_is_filled_in_and_submitted(
    playground: Running, browser: object
) -> None:
    """A mock interview's Rate button opens the rating modal; required fields are checked; submit
    posts, and the button gives way to the rating; a reply after the scorecard is not graded."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    wait, composer = _page_as(browser, playground.url, "Alice (admin)")
    composer.send_keys("/deploy-question mock @Bob", Keys.ENTER)
    prompt = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '.msg[data-event-type="drill_prompt"]'))
    )
    WebDriverWait(browser, 10).until(lambda _: playground.prompt_recorded())
    prompt.find_element(By.CSS_SELECTOR, "button.replies").click()
    reply = wait.until(ec.visibility_of_element_located((By.ID, "thread-input")))
    reply.send_keys(STRONG_ANSWER, Keys.ENTER)

    def summary_or_follow_up(driver: WebDriver) -> str | None:
        thread = driver.find_element(By.ID, "thread-messages")
        if thread.find_elements(By.CSS_SELECTOR, '.msg[data-event-type="drill_summary"]'):
            return "summary"
        follow_ups = thread.find_elements(By.CSS_SELECTOR, '.msg[data-event-type="drill_followup"]')
        answers = thread.find_elements(By.CSS_SELECTOR, ".msg:not([data-event-type])")
        return "follow-up" if len(follow_ups) >= len(answers) else None

    while wait.until(summary_or_follow_up) == "follow-up":
        reply.send_keys(
            "I would alert on input drift and the prediction distribution, compare with delayed "
            "labels, and roll back to the previous version if the business metric drops.",
            Keys.ENTER,
        )

    Select(browser.find_element(By.ID, "user-picker")).select_by_visible_text("Bob")
    rate = wait.until(
        ec.element_to_be_clickable((By.CSS_SELECTOR, 'button[data-action*="mock_rate"]'))
    )
    rate.click()
    modal = wait.until(ec.visibility_of_element_located((By.ID, "modal")))
    submit = modal.find_element(By.ID, "modal-submit")
    submit.click()  # nothing chosen yet: checked in the page, as Slack's client does
    assert "This field is required." in modal.text
    Select(modal.find_element(By.CSS_SELECTOR, "#modal-body select")).select_by_value("4")
    submit.click()
    wait.until(ec.invisibility_of_element_located((By.ID, "modal")))
    rating = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '.msg[data-event-type="drill_rating"]'))
    )
    assert "@Bob rated @Alice" in rating.text and "4/5" in rating.text
    assert "scorecard: " in rating.text  # the scorecard's score, the same as in the thread
    # The brief's Rate button gives way to the rating: it cannot be pressed again.
    wait.until(lambda d: not d.find_elements(By.CSS_SELECTOR, 'button[data-action*="mock_rate"]'))
    assert "You rated @Alice 4/5" in browser.find_element(By.ID, "messages").text

    # The interview is over: a reply in its thread is not graded, and says so once.
    reply = wait.until(ec.visibility_of_element_located((By.ID, "thread-input")))
    reply.send_keys("Thanks, that was useful!", Keys.ENTER)

    def closing_note(driver: WebDriver) -> str | None:
        notes = driver.find_elements(
            By.CSS_SELECTOR, '#thread-messages .msg[data-event-type="drill_nudge"]'
        )
        return notes[0].text if notes else None

    closed = WebDriverWait(browser, 20, ignored_exceptions=(StaleElementReferenceException,)).until(
        closing_note
    )
    assert "finished" in closed and "/deploy-question mock" in closed


def test_the_app_home_is_a_dashboard_with_admin_controls(
    playground: Running, browser: object, artifacts: Path
) -> None:
    """Alice schedules a drill (announced in the channel) and answers; her Home shows her
    answers, and as an admin the schedule, which she pauses there; Bob's Home has no admin part."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    assert isinstance(browser, WebDriver)
    wait, composer = _page_as(browser, playground.url, "Alice (admin)")
    composer.send_keys(
        "/deploy-question schedule weekdays 09:30 Europe/Berlin topics rollout,rollback", Keys.ENTER
    )
    announced = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '.msg[data-event-type="drill_schedule"]'))
    )
    assert "@Alice set up a drill in this channel" in announced.text
    assert "schedule pause 1" in announced.text
    composer.send_keys("/deploy-question deploy-ml-models", Keys.ENTER)
    prompt = wait.until(
        ec.presence_of_element_located((By.CSS_SELECTOR, '.msg[data-event-type="drill_prompt"]'))
    )
    WebDriverWait(browser, 10).until(lambda _: playground.prompt_recorded())
    prompt.find_element(By.CSS_SELECTOR, "button.replies").click()
    wait.until(ec.visibility_of_element_located((By.ID, "thread-input"))).send_keys(
        STRONG_ANSWER, Keys.ENTER
    )
    feedback = wait.until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, '#thread-messages .msg[data-event-type="drill_feedback"]')
        )
    )
    score = feedback.find_element(By.CSS_SELECTOR, ".bk-header").text.split("/100")[0]

    browser.find_element(By.ID, "thread-close").click()
    browser.find_element(By.ID, "nav-home").click()
    home = browser.find_element(By.ID, "home-body")
    wait.until(lambda _: "Team lead" in home.text)
    for label in ("Next drill", "Start a mock", "Your weakest criterion", "Your answers"):
        assert home.find_element(By.XPATH, f".//button[normalize-space()='{label}']")
    assert "#ml-drills #1 weekdays at 09:30 (Europe/Berlin)" in home.text
    assert "topics rollout, rollback" in home.text
    assert "1 of 3 members practised" in home.text
    assert "/deploy-question level" not in home.text  # no help text dump

    home.find_element(By.XPATH, ".//button[normalize-space()='Pause']").click()
    wait.until(lambda _: "Schedule #1 paused." in home.text)
    assert home.find_element(By.XPATH, ".//button[normalize-space()='Resume']")
    assert "· paused" in home.text

    home.find_element(By.XPATH, ".//button[normalize-space()='Your answers']").click()
    modal = wait.until(ec.visibility_of_element_located((By.ID, "modal")))
    wait.until(lambda _: "Page 1 of 1" in modal.text)
    assert (
        f"{score}/100" in modal.text and "How do you deploy ML models to production?" in modal.text
    )
    assert "1 answer" in modal.text
    browser.find_element(By.ID, "modal-close").click()
    wait.until(ec.invisibility_of_element_located((By.ID, "modal")))
    shot = artifacts / "app-home.png"
    assert browser.save_screenshot(str(shot))
    shutil.copyfile(shot, ROOT / "docs" / "app-home.png")

    Select(browser.find_element(By.ID, "user-picker")).select_by_visible_text("Bob")
    wait.until(lambda _: "Next drill" in home.text and "Alice" not in home.text)
    wait.until(lambda _: "run /deploy-question in a channel" in home.text)
    assert "Team lead" not in home.text
