/*
 * The XBlock JavaScript runtime of the workbench (XBlock's runtime version 1).
 *
 * Each block's wrapper (class "xblock-v1", from lc-runtime's rendering) has data-usage, data-block-type and,
 * when its fragment asked for one, data-init (the name of its initialisation function) and its JSON
 * arguments. The page gives each block's signed handler base URL (#wb-handler-bases); a handler URL is that
 * base, the handler's name and the suffix. POSTs carry Django's CSRF token.
 */
(function ($, window, document) {
    "use strict";

    var bases = JSON.parse(document.getElementById("wb-handler-bases").textContent || "{}");

    function csrfToken() {
        var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
        return match ? decodeURIComponent(match[1]) : "";
    }

    $.ajaxSetup({
        beforeSend: function (xhr, settings) {
            if (!/^(GET|HEAD|OPTIONS|TRACE)$/i.test(settings.type) && !this.crossDomain) {
                xhr.setRequestHeader("X-CSRFToken", csrfToken());
            }
        }
    });

    function wrapperOf(element) {
        var $element = $(element);
        return $element.is("[data-usage]") ? $element : $element.closest("[data-usage]");
    }

    function handlerUrl(element, handlerName, suffix, query) {
        var usage = wrapperOf(element).data("usage");
        var base = bases[usage];
        if (!base) {
            throw new Error("no handler URL for " + usage + " on this page");
        }
        var url = base + encodeURIComponent(handlerName) + "/" + (suffix || "");
        return query ? url + "?" + query : url;
    }

    function childrenOf(element) {
        return $(element).find("[data-usage]").filter(function () {
            return wrapperOf(this.parentNode).get(0) === wrapperOf(element).get(0);
        }).map(function () { return $(this).data("xblock") || this; }).get();
    }

    function runtimeFor(element) {
        return {
            element: element,
            handlerUrl: handlerUrl,
            children: function (el) { return childrenOf(el); },
            childMap: function (el, name) {
                return childrenOf(el).filter(function (child) { return $(child.element || child).data("name") === name; })[0];
            },
            notify: function (name, data) {
                $(document).trigger("xblock-notify", [name, data, element]);
                // A studio_view says it has saved: back to the draft it belongs to.
                var $studio = $(element).closest("[data-after-save]");
                if (name === "save" && data && data.state === "end" && $studio.length) {
                    window.location.href = $studio.data("after-save");
                }
                if (name === "cancel" && $studio.length) {
                    window.location.href = $studio.data("after-save");
                }
                if (name === "error") {
                    window.console.error(data && (data.msg || data.message));
                }
            },
            refreshXBlock: function () { window.location.reload(); },
            // Some blocks still call the older names.
            handler_url: handlerUrl
        };
    }

    function initialize(element) {
        var $element = $(element);
        var name = $element.data("init");
        if (!name || $element.data("xblock-initialized")) {
            return;
        }
        var init = window[name];
        if (typeof init !== "function") {
            window.console.warn("XBlock init function " + name + " is not on this page");
            return;
        }
        var args = $element.children("script.xblock_json_init_args").text();
        $element.data("xblock-initialized", true);
        try {
            var data = args ? JSON.parse(args) : {};
            // An init function with methods on its prototype is a class (capa's Problem): it needs "new".
            var isClass = init.prototype && Object.getOwnPropertyNames(init.prototype).length > 1;
            var block = (isClass ? new init(runtimeFor(element), element, data) : init(runtimeFor(element), element, data)) || {};
            block.element = element;
            $element.data("xblock", block);
        } catch (error) {  // one block's failure leaves the others running, and says which block failed
            $element.attr("data-init-failed", String(error));
            window.console.error("XBlock " + $element.data("usage") + " failed to start: " + (error.stack || error));
        }
    }

    $(function () {
        // Children first, as XBlock's runtime does: a parent may look its children up when it starts.
        $($("[data-init]").get().reverse()).each(function () { initialize(this); });
        $(document.body).attr("data-xblocks-ready", "true");
    });
})(window.jQuery, window, document);
