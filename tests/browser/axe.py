"""axe-core, injected into a page from node_modules (nothing of it ships with the site), and WCAG contrast."""

from __future__ import annotations

import re

from playwright.async_api import Page

from tests.support.env import ROOT, need

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"


async def axe_problems(page: Page, within: str = "html") -> list[str]:
    """Serious and critical axe-core violations on the page (or inside the element `within`)."""
    need(AXE.is_file(), f"axe-core is not installed ({AXE} is missing): run `npm ci` in {ROOT}")
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.add_script_tag(path=str(AXE))
    violations = await page.evaluate(
        """async selector => {
            const result = await axe.run(document.querySelector(selector), {resultTypes: ["violations"]});
            return result.violations
                .filter(v => v.impact === "serious" || v.impact === "critical")
                .map(v => `${v.id} (${v.impact}): ${v.help}; ` +
                          v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "));
        }""",
        within,
    )
    return list(violations)


def _rgb(css: str) -> tuple[float, float, float]:
    parts = [float(x) for x in re.findall(r"[\d.]+", css)[:4]]
    assert len(parts) == 3 or parts[3] == 1, f"expected an opaque colour, got {css}"
    return parts[0], parts[1], parts[2]


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two opaque CSS rgb() colours."""

    def luminance(css: str) -> float:
        channels = [c / 255 for c in _rgb(css)]
        r, g, b = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (light + 0.05) / (dark + 0.05)
