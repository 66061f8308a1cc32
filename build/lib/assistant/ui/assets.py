"""The page's CSS and its one script: citation chips that open their source, copy-to-clipboard, and scrolling the
opened source to its highlight.

How a chip works: answers render ``[n]`` as a Markdown link to ``#cite-T-N`` (answer T, source N), which the
Chatbot's sanitizer keeps. The script below listens for clicks on such links anywhere on the page (capture phase,
so the link never navigates), writes "T-N" into a hidden textbox and clicks a hidden button; that button's Python
handler looks the citation up in the session's conversation and fills the source panel. Nothing from the corpus
or the model is ever passed to the script as code: it only reads the link's fixed-format target.
"""

from __future__ import annotations

CITE_REQUEST_ID = "cite-request"
CITE_OPEN_ID = "cite-open"

HEAD = """
<script>
(() => {
  if (window.peacetalks) return;
  const REF = /^\\d+-(\\d+|all)$/;
  function openRef(ref) {
    const box = document.querySelector('#REQUEST textarea, #REQUEST input');
    const button = document.querySelector('#OPEN');
    if (!box || !button) return;
    box.value = ref;
    box.dispatchEvent(new Event('input', { bubbles: true }));
    setTimeout(() => button.click(), 0);
  }
  function reveal(tries) {
    const panel = document.querySelector('#sources');
    const box = panel && panel.querySelector('.article-box');
    const mark = box && box.querySelector('mark');
    if (!mark) {
      if (tries > 0) setTimeout(() => reveal(tries - 1), 60);
      return;
    }
    box.scrollTop = Math.max(0, mark.offsetTop - box.clientHeight / 3);
    // Side by side (desktop) the panel is already beside the chat; stacked (phone) it is below: go to it.
    const top = panel.getBoundingClientRect().top;
    if (window.innerWidth < 700 || top < 0 || top > window.innerHeight * 0.6) panel.scrollIntoView({ block: 'start' });
  }
  function copy(text, button) {
    const done = () => {
      if (!button) return;
      const label = button.textContent;
      button.textContent = 'Copied ✓';
      setTimeout(() => { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, () => {});
      return;
    }
    const area = document.createElement('textarea');  // plain-HTTP fallback (a non-loopback bind)
    area.value = text;
    area.style.position = 'fixed';
    area.style.left = '-9999px';
    document.body.appendChild(area);
    area.select();
    try { document.execCommand('copy'); done(); } finally { area.remove(); }
  }
  document.addEventListener('click', (event) => {
    const link = event.target instanceof Element ? event.target.closest('a[href*="#cite-"]') : null;
    if (!link) return;
    const ref = (link.getAttribute('href') || '').split('#cite-')[1] || '';
    if (!REF.test(ref)) return;
    event.preventDefault();
    event.stopPropagation();
    openRef(ref);
  }, true);
  window.peacetalks = { openRef, reveal, copy };
})();
</script>
""".replace("REQUEST", CITE_REQUEST_ID).replace("OPEN", CITE_OPEN_ID)

# Run after the source panel is filled: bring the highlight (and, on a phone, the panel) into view.
REVEAL_JS = "() => { window.peacetalks && window.peacetalks.reveal(20); }"
COPY_JS = (
    "(text) => { if (text && window.peacetalks) window.peacetalks.copy(text, document.querySelector('#copy-answer')); }"
)
CONFIRM_REMOVE_JS = "(id) => (id && window.confirm('Remove ' + id + ' from the corpus?')) ? id : ''"

CSS = """
#chat a[href*="#cite-"], #sources a[href*="#cite-"] {
  display: inline-block; padding: 0 .45em; margin: 0 .08em; border-radius: 999px; line-height: 1.45;
  font-size: .82em; font-weight: 600; text-decoration: none; cursor: pointer; vertical-align: baseline;
  background: var(--color-accent-soft); border: 1px solid var(--color-accent); color: var(--color-accent);
}
#chat a[href*="#cite-"]:hover, #sources a[href*="#cite-"]:hover { background: var(--color-accent); color: white; }
#sources a[href$="-all"] {
  border: none; background: none; padding: 0; font-weight: normal; color: var(--link-text-color);
}
.unsupported {
  text-decoration: underline wavy #c2410c; text-decoration-thickness: 1px; background: rgba(234, 88, 12, .12);
}
.unsupported-flag { color: #c2410c; font-weight: 600; margin-left: .25em; white-space: nowrap; }
mark { background: #fde047; color: #111; padding: 0 .1em; border-radius: 2px; }
.article-box {
  position: relative; max-height: 380px; overflow-y: auto; overscroll-behavior: contain;
  border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .25em .9em; margin-top: .5em;
}
.article-box p { margin: .45em 0; }
.article-box .passage {
  border-left: 3px solid var(--color-accent); padding-left: .7em; margin: .4em 0;
  background: var(--background-fill-secondary);
}
#header { font-size: 1.05em; }
#header strong { font-size: 1.25em; margin-right: .2em; }
#source-column {
  border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg); padding: 10px 14px;
  background: var(--block-background-fill); align-self: flex-start;
}
#sources-title { border-bottom: 1px solid var(--border-color-primary); padding-bottom: 4px; }
#status { font-size: .85em; opacity: .85; min-height: 1.2em; }
#sources { overflow-wrap: anywhere; }
#sources h4, #corpus-reader h4 {
  font-size: 1.08em !important; line-height: 1.35 !important; margin: .5em 0 .25em !important;
}
#corpus-reader { overflow-wrap: anywhere; }
#corpus-table table, #corpus-table td, #corpus-table th, #corpus-table .cell-wrap, #corpus-table td * {
  font-family: var(--font) !important; font-size: .92em;
}
#chat-actions { flex-wrap: nowrap; gap: 8px; }
#chat-actions > * { flex: 1 1 0; min-width: 0 !important; }
@media (max-width: 700px) {
  #chat { height: 58vh !important; }
  .article-box { max-height: 320px; }
  #sources h4, #corpus-reader h4 { font-size: 1em !important; }
  #header { font-size: .9em; }
}
"""
