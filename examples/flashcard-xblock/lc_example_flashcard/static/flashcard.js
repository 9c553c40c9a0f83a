/* The flashcard's scripts: the learner's card (FlashcardBlock) and the author's editor (FlashcardEditor). */
function FlashcardBlock(runtime, element) {
    "use strict";
    var $card = $(element).find(".lc-flashcard");
    function post(handler, data, done) {
        $.ajax({type: "POST", url: runtime.handlerUrl(element, handler), data: JSON.stringify(data || {}),
                contentType: "application/json", dataType: "json"}).done(done);
    }
    $card.find(".turn").on("click", function () {
        post("turn", {}, function (answer) {
            $card.find(".back").text(answer.back).prop("hidden", false);
            $card.find(".status").text(($card.attr("data-known") === "true" ? "known" : "to learn") +
                                       "; turned " + answer.turns + " times");
        });
    });
    $card.find(".mark").on("click", function () {
        post("mark", {known: true}, function (answer) {
            $card.attr("data-known", String(answer.known));
            $card.find(".status").text("known");
        });
    });
    return {};
}

function FlashcardEditor(runtime, element) {
    "use strict";
    $(element).find("form").on("submit", function (event) {
        event.preventDefault();
        var data = {};
        $(this).serializeArray().forEach(function (field) { data[field.name] = field.value; });
        runtime.notify("save", {state: "start"});
        $.ajax({type: "POST", url: runtime.handlerUrl(element, "save_card"), data: JSON.stringify(data),
                contentType: "application/json", dataType: "json"}).done(function (answer) {
            if (answer.saved) {
                runtime.notify("save", {state: "end"});
            } else {
                runtime.notify("error", {title: "Not saved", message: answer.error});
            }
        });
    });
    return {};
}
