"""The page as a person sees it: headless Chromium through nginx over HTTPS."""

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from djkit_probe import ARTIFACTS, chromium


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
