/*
 * What edx-platform's pages give every block's JavaScript, and the workbench gives too, in its own small
 * versions: the tracking logger (events go nowhere here: blocks publish theirs through their handlers),
 * edx.StringUtils.interpolate, edx.HtmlUtils, JavascriptLoader.executeModuleScripts and
 * Collapsible.setCollapsibles (which capa's problem script calls), onTouchBasedDevice (which the video
 * player's calls). gettext and friends come from Django's JavaScript catalogue and underscore from npm,
 * both loaded before this file.
 */
(function (window, $) {
    "use strict";
    window.Logger = window.Logger || {
        log: function () { return { always: function (callback) { if (callback) { callback(); } } }; },
        listen: function () {},
        bind: function () {}
    };

    window.edx = window.edx || {};
    window.edx.StringUtils = window.edx.StringUtils || {
        // "{name} of {count}" with the values of an object, as edx-platform's StringUtils does.
        interpolate: function (text, values) {
            return String(text).replace(/{(\w+)}/g, function (match, name) {
                return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : match;
            });
        }
    };

    // edx-ui-toolkit's HtmlUtils, as edx-platform's pages have it: text is escaped unless marked as HTML.
    (function (StringUtils) {
        function HtmlSnippet(text) { this.text = String(text); }
        HtmlSnippet.prototype.toString = function () { return this.text; };
        HtmlSnippet.prototype.valueOf = HtmlSnippet.prototype.toString;
        function HTML(text) { return new HtmlSnippet(text); }
        function ensureHtml(value) { return value instanceof HtmlSnippet ? value : HTML(_.escape(value)); }
        window.edx.HtmlUtils = window.edx.HtmlUtils || {
            HtmlSnippet: HtmlSnippet,
            HTML: HTML,
            ensureHtml: ensureHtml,
            interpolateHtml: function (format, values) {
                return HTML(StringUtils.interpolate(ensureHtml(format).toString(), _.mapObject(values || {}, ensureHtml)));
            },
            joinHtml: function () { return HTML(_.map(arguments, function (part) { return ensureHtml(part).toString(); }).join("")); },
            template: function (text, settings) {
                var compiled = _.template(text, settings);
                return function (data) {
                    return HTML(compiled(_.extend({ HtmlUtils: window.edx.HtmlUtils, StringUtils: StringUtils }, data)));
                };
            },
            setHtml: function (element, html) { return $(element).html(ensureHtml(html).toString()); },
            append: function (element, html) { return $(element).append(ensureHtml(html).toString()); },
            prepend: function (element, html) { return $(element).prepend(ensureHtml(html).toString()); }
        };
    })(window.edx.StringUtils);

    // capa runs the <script> elements of a problem's HTML that it inserts itself (its "module scripts").
    window.JavascriptLoader = window.JavascriptLoader || {
        executeModuleScripts: function (element, callback) {
            $(element).find("script").each(function () {
                var type = this.getAttribute("type") || "text/javascript";
                if (/javascript/.test(type) && this.text) {
                    window.eval(this.text);
                }
            });
            if (callback) { callback(); }
        }
    };

    // jQuery's post and ajax under the names edx-platform's pages give them (capa calls these). The workbench
    // serves from the site's root, so there is no prefix to add.
    $.postWithPrefix = $.postWithPrefix || function () { return $.post.apply($, arguments); };
    $.getWithPrefix = $.getWithPrefix || function () { return $.get.apply($, arguments); };
    $.ajaxWithPrefix = $.ajaxWithPrefix || function () { return $.ajax.apply($, arguments); };

    // The screen-reader announcer edx-platform's pages have (window.SR): text read out through an aria-live region.
    window.SR = window.SR || {
        readTexts: function (texts) {
            var $region = $("#wb-sr-announcer");
            if (!$region.length) {
                $region = $('<div id="wb-sr-announcer" class="sr" aria-live="polite" role="status"></div>').appendTo("body");
            }
            $region.text((texts || []).join(" "));
        },
        readText: function (text) { window.SR.readTexts([text]); },
        readElts: function (elements) {
            window.SR.readTexts($(elements).map(function () { return $(this).text(); }).get());
        }
    };

    // The video player asks whether the page is on a touch device (the matched device's name, or null).
    window.onTouchBasedDevice = window.onTouchBasedDevice || function () {
        return window.navigator.userAgent.match(/iPhone|iPod|iPad|Android/i);
    };

    // Sections a problem marks collapsible: a heading that shows and hides what follows it.
    window.Collapsible = window.Collapsible || {
        setCollapsibles: function (element) {
            $(element).find(".collapsible header + section").hide();
            $(element).find(".collapsible header a").off("click.wb").on("click.wb", function (event) {
                event.preventDefault();
                $(this).closest(".collapsible").find("> section").toggle();
            });
        }
    };
})(window, window.jQuery);
