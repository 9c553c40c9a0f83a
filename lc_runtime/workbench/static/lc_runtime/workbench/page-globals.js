/*
 * What edx-platform's pages give every block's JavaScript, and the workbench gives too: the tracking
 * logger (events go nowhere here: blocks publish theirs through their handlers) and, from Django's
 * JavaScript catalog, gettext and friends (loaded before this file).
 */
(function (window) {
    "use strict";
    window.Logger = window.Logger || {
        log: function () { return { always: function (callback) { if (callback) { callback(); } } }; },
        listen: function () {},
        bind: function () {}
    };
})(window);
