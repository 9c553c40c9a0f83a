/*
 * MathJax 2's settings, read from window.MathJax when MathJax.js loads (so this file comes first). The
 * delimiters are those Open edX content is written with: capa turns <math> and $...$ into
 * [mathjaxinline]...[/mathjaxinline] and [mathjax]...[/mathjax], and HTML blocks use \( \) and \[ \].
 * SVG output draws glyphs from MathJax's own scripts: no web font to fetch. MathJax loads its parts
 * from the folder its own script was served from (the workbench's, from npm): nothing from a CDN.
 */
window.MathJax = {
    messageStyle: "none",
    showMathMenu: false,
    tex2jax: {
        inlineMath: [["\\(", "\\)"], ["[mathjaxinline]", "[/mathjaxinline]"]],
        displayMath: [["\\[", "\\]"], ["[mathjax]", "[/mathjax]"]],
        processEscapes: true
    },
    SVG: { font: "TeX" }
};
