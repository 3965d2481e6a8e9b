"""The page as a person sees it: headless Chromium through nginx over HTTPS."""

import os

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from djkit_probe import ARTIFACTS


def chromium() -> webdriver.Chrome:
    os.environ.setdefault("SE_OFFLINE", "true")  # never let Selenium fetch a browser
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1024,768",
    ):
        options.add_argument(arg)
    options.accept_insecure_certs = True
    return webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def test_page_renders_with_its_stylesheet_and_live_socket(site, asgi) -> None:
    driver = chromium()
    try:
        driver.get(f"{site.base}/")
        WebDriverWait(driver, 15).until(
            lambda d: d.execute_script("return document.readyState") == "complete"
        )
        background = driver.execute_script("return getComputedStyle(document.body).backgroundColor")
        heading = driver.execute_script(
            "return getComputedStyle(document.querySelector('h1')).color"
        )
        assert background == "rgb(244, 241, 234)"
        assert heading == "rgb(12, 107, 88)"
        status = driver.find_element(By.ID, "live-status")
        if asgi:
            WebDriverWait(driver, 15).until(lambda d: status.get_attribute("data-state") == "on")
        else:
            assert status.get_attribute("data-state") == "off"
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / f"{site.name}.png"))
    finally:
        driver.quit()
