/*
 * editor.mjs: the playground's code editor, CodeMirror 6 from npm with Python highlighting.
 * docsite/hooks/playground.py bundles it (esbuild) into assets/playground/editor.js, which
 * playground.js imports only when a reader presses Edit.
 *
 * createEditor(parent, {doc, label, onRun, onChange}) -> {getDoc, setDoc, markError, clearError, focus, destroy}
 *
 * Keyboard: Tab is left to the page (it moves focus, so the editor is no trap); Ctrl/Cmd-]
 * and Ctrl/Cmd-[ indent and dedent, Ctrl/Cmd-Enter runs. Colours come from the theme's
 * own custom properties, so light and dark schemes both read well.
 */
import { EditorView, basicSetup } from "codemirror";
import { keymap } from "@codemirror/view";
import { EditorState } from "@codemirror/state";
import { python } from "@codemirror/lang-python";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { setDiagnostics } from "@codemirror/lint";
import { tags } from "@lezer/highlight";

// The theme's code colours (mkdocs-material sets them for light and dark).
const highlight = HighlightStyle.define([
  { tag: tags.keyword, color: "var(--md-code-hl-keyword-color)" },
  { tag: [tags.string, tags.special(tags.string)], color: "var(--md-code-hl-string-color)" },
  { tag: [tags.number, tags.bool, tags.null], color: "var(--md-code-hl-number-color)" },
  { tag: tags.comment, color: "var(--md-code-hl-comment-color)", fontStyle: "italic" },
  { tag: [tags.function(tags.variableName), tags.function(tags.propertyName)], color: "var(--md-code-hl-function-color)" },
  { tag: [tags.definition(tags.variableName), tags.className], color: "var(--md-code-hl-name-color)" },
  { tag: tags.operator, color: "var(--md-code-hl-operator-color)" },
  { tag: tags.punctuation, color: "var(--md-code-hl-punctuation-color)" },
]);

const look = EditorView.theme({
  "&": {
    color: "var(--md-code-fg-color)",
    backgroundColor: "var(--md-code-bg-color)",
    fontSize: "0.8rem",
  },
  // As tall as the code and wrapped: no scroll box inside the page's scroll (none to reach by
  // keyboard, none to trap a thumb on a phone).
  ".cm-scroller": { fontFamily: "var(--md-code-font-family, monospace)" },
  ".cm-content": { caretColor: "var(--md-code-fg-color)" },
  ".cm-gutters": {
    backgroundColor: "var(--md-code-bg-color)",
    color: "var(--md-code-fg-color)", // line numbers readable at full contrast, as axe asks
    borderRight: "1px solid var(--md-default-fg-color--lightest)",
  },
  // The cursor's line is marked by a bar, not a background, which would lower the text's contrast.
  ".cm-activeLine": { backgroundColor: "transparent", boxShadow: "inset 0.15rem 0 0 var(--md-accent-fg-color)" },
  ".cm-activeLineGutter": { backgroundColor: "transparent", fontWeight: "700" },
  "&.cm-focused": { outline: "2px solid var(--md-accent-fg-color)" },
  ".cm-lintRange-error": { textDecoration: "underline wavy var(--rx-error-color, #c62828)" },
});

export function createEditor(parent, options) {
  const onRun = options.onRun || (() => {});
  const onChange = options.onChange || (() => {});
  const state = EditorState.create({
    doc: options.doc || "",
    extensions: [
      basicSetup,
      python(),
      syntaxHighlighting(highlight),
      look,
      EditorView.lineWrapping, // a phone's width shows whole lines, no sideways scrolling
      keymap.of([{ key: "Mod-Enter", run: () => (onRun(), true) }]),
      EditorView.contentAttributes.of({ "aria-label": options.label || "Code", "aria-multiline": "true" }),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) onChange(update.state.doc.toString());
      }),
    ],
  });
  const view = new EditorView({ state, parent });

  function clearError() {
    view.dispatch(setDiagnostics(view.state, []));
  }

  return {
    view,
    getDoc: () => view.state.doc.toString(),
    setDoc(text) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
    },
    // Underline the line (from `column`, 1-based) and show `message` there; the cursor goes to it.
    markError(line, column, message) {
      const doc = view.state.doc;
      const at = doc.line(Math.min(Math.max(1, line || 1), doc.lines));
      const from = Math.min(at.to, at.from + Math.max(0, (column || 1) - 1));
      const to = at.to > from ? at.to : Math.min(doc.length, from + 1);
      view.dispatch(setDiagnostics(view.state, [{ from, to, severity: "error", message }]));
      view.dispatch({ selection: { anchor: from }, scrollIntoView: true });
    },
    clearError,
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  };
}
