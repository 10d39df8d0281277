use super::stack_chart::chart_span;
use super::*;
use crate::timeline::tests::{FAULT, TWO, round_robin};
use roxmltree::{Document, Node};

fn picture(text: &str) -> String {
    svg(&Timeline::parse(text).unwrap())
}

/// The value of `property` in the style sheet's rule for `selector`
/// (one rule per line, as [`style_sheet`] writes them).
fn css(document: &Document<'_>, selector: &str, property: &str) -> String {
    let sheet = document
        .descendants()
        .find(|n| n.has_tag_name("style"))
        .and_then(|n| n.text())
        .expect("a style sheet");
    let rule = sheet
        .lines()
        .find_map(|line| {
            let (selectors, body) = line.split_once(" {")?;
            selectors.split(", ").any(|s| s == selector).then_some(body)
        })
        .unwrap_or_else(|| panic!("no rule for {selector} in {sheet}"));
    rule.trim_end_matches('}')
        .split(';')
        .find_map(|decl| {
            let (name, value) = decl.split_once(':')?;
            (name.trim() == property).then(|| value.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no {property} for {selector}: {rule}"))
}

/// The texts drawn in `node`, in order.
fn texts<'n>(node: Node<'n, 'n>) -> Vec<&'n str> {
    node.descendants()
        .filter(|n| n.has_tag_name("text"))
        .filter_map(|n| n.text())
        .collect()
}

/// The classes of `node`.
fn classes<'n>(node: &Node<'n, 'n>) -> Vec<&'n str> {
    node.attribute("class")
        .map_or(Vec::new(), |c| c.split(' ').collect())
}

/// The elements with `class` in `document`.
fn with_class<'d>(
    document: &'d roxmltree::Document<'d>,
    class: &str,
) -> Vec<roxmltree::Node<'d, 'd>> {
    document
        .descendants()
        .filter(|node| node.attribute("class") == Some(class))
        .collect()
}

#[test]
fn the_picture_is_well_formed_with_a_lane_per_routine_and_an_arrow_per_switch() {
    for (text, routines, switches) in [(TWO, 3, 20), (FAULT, 3, 5)] {
        let markup = picture(text);
        let document = roxmltree::Document::parse(&markup).unwrap();
        assert_eq!(document.root_element().tag_name().name(), "svg");
        let lanes: Vec<_> = with_class(&document, "lane")
            .iter()
            .map(|lane| lane.attribute("data-routine").unwrap().to_owned())
            .collect();
        assert_eq!(lanes.len(), routines);
        assert_eq!(lanes[..2], ["main", "coroutine1"]);
        let arrows = with_class(&document, "switch");
        assert_eq!(arrows.len(), switches);
        for arrow in arrows {
            assert_eq!(
                arrow.children().filter(|c| c.has_tag_name("line")).count(),
                1
            );
        }
    }
}

#[test]
fn names_and_slots_are_real_text() {
    let markup = picture(TWO);
    let document = roxmltree::Document::parse(&markup).unwrap();
    let texts = texts(document.root());
    for expected in [
        "coroutine2",
        "call → main_context",
        "yield → coro1_context",
        "return: saved nowhere",
    ] {
        assert!(texts.contains(&expected), "no text {expected:?}");
    }
    let bytes = Timeline::parse(TWO).unwrap().high_water[0].bytes;
    let mark = format!("high water {bytes} of 4096");
    assert!(texts.iter().any(|t| t.starts_with(&mark)), "no {mark:?}");
}

#[test]
fn a_kernel_without_routines_gets_a_sentence_not_empty_lanes() {
    let text = "fault who=0 switch=0 rsp=0x10 tsc=1 what=PANIC: boom (x.rs:1:1)\nexit code=failed switches=0 tsc=2\n";
    let doc = picture(text);
    let parsed = roxmltree::Document::parse(&doc).unwrap();
    let texts = texts(parsed.root());
    assert!(
        texts.iter().any(|t| t.starts_with("No routine lines")),
        "{texts:?}"
    );
    assert!(texts.iter().any(|t| t.contains("PANIC: boom")), "{texts:?}");
    assert!(
        !parsed
            .descendants()
            .any(|n| n.attribute("class") == Some("lane"))
    );
}

#[test]
fn a_fault_is_marked_and_its_sentence_printed() {
    let markup = picture(FAULT);
    let document = roxmltree::Document::parse(&markup).unwrap();
    assert_eq!(with_class(&document, "fault").len(), 1);
    assert!(markup.contains("Fault: coroutine1 overflowed its 4096-byte stack"));
    let clean = picture(TWO);
    assert!(!clean.contains("class=\"fault\""));
}

#[test]
fn the_per_switch_labels_never_overlap_even_with_eighty_switches() {
    let markup = picture(&round_robin(8, 5));
    let document = roxmltree::Document::parse(&markup).unwrap();
    assert_eq!(with_class(&document, "lane").len(), 9);
    assert_eq!(with_class(&document, "switch").len(), 80);
    let slots = with_class(&document, "slots")[0];
    let size: f64 = css(&document, ".slots text", "font-size")
        .trim_end_matches("px")
        .parse()
        .unwrap();
    let mut xs: Vec<f64> = slots
        .children()
        .filter(|n| n.has_tag_name("text") && n.attribute("transform").is_some())
        .map(|n| n.attribute("x").unwrap().parse().unwrap())
        .collect();
    assert_eq!(xs.len(), 80);
    xs.sort_by(f64::total_cmp);
    // Upright labels are one line high: a font size apart is enough.
    assert!(xs.windows(2).all(|w| w[1] - w[0] >= size), "{xs:?}");
    assert!(size >= 6.5);
}

#[test]
fn quotes_and_angle_brackets_in_names_are_escaped() {
    let text = TWO.replace("name=coroutine2", "name=<co\"2&>");
    let markup = picture(&text);
    let document = roxmltree::Document::parse(&markup).unwrap();
    assert!(
        with_class(&document, "lane")
            .iter()
            .any(|lane| lane.attribute("data-routine") == Some("<co\"2&>"))
    );
}

#[test]
fn past_the_room_for_labels_the_picture_says_so_instead_of_overlapping() {
    let markup = picture(&round_robin(8, 10));
    let document = roxmltree::Document::parse(&markup).unwrap();
    assert_eq!(with_class(&document, "switch").len(), 160);
    assert!(with_class(&document, "slots").is_empty());
    assert!(markup.contains("Too many switches to label each one"));
}

#[test]
fn no_events_at_all_still_make_a_well_formed_picture() {
    let markup = picture("");
    let document = roxmltree::Document::parse(&markup).unwrap();
    assert!(with_class(&document, "lane").is_empty());
    assert!(markup.contains("0 switches, ended: the event lines stop here"));
}

#[test]
fn every_switch_arrow_and_label_say_the_same() {
    for text in [TWO, FAULT, &round_robin(8, 5)] {
        let markup = picture(text);
        let document = Document::parse(&markup).unwrap();
        let labels = with_class(&document, "slots")[0]
            .children()
            .filter(|n| n.attribute("data-n").is_some())
            .collect::<Vec<_>>();
        let arrows = with_class(&document, "switch");
        assert_eq!(arrows.len(), labels.len());
        assert!(!arrows.is_empty());
        for (group, label) in arrows.iter().zip(&labels) {
            let n = group.attribute("data-n").unwrap();
            assert_eq!(label.attribute("data-n"), Some(n));
            let line = group.children().find(|c| c.has_tag_name("line")).unwrap();
            let arrow = classes(&line);
            let said = classes(label);
            assert_eq!((arrow[0], said[0]), ("arrow", "slot"), "#{n}");
            // One meaning for both marks...
            let meaning = arrow[1];
            assert_eq!(said[1], meaning, "#{n}");
            // ...which is the rule of the switch's kind, named first
            // in the label...
            let words = label.text().unwrap();
            let kind = Kind::ALL
                .into_iter()
                .find(|k| words.starts_with(k.as_str()))
                .unwrap_or_else(|| panic!("#{n}: {words}"));
            assert_eq!(leaving_class(kind.leaving()), meaning, "#{n}: {words}");
            // ...said in the label's words...
            let worded = match meaning {
                "saved" => words.contains(" → "),
                "lost" => words.ends_with("saved nowhere"),
                "emptied" => words.ends_with("emptied"),
                other => panic!("#{n}: unknown arrow {other}"),
            };
            assert!(worded, "#{n} {meaning}: {words}");
            // ...and drawn in one colour: the arrow's stroke is the
            // label's fill, and only the loss is dashed red.
            let selector = |what: &str| format!(".{what}.{meaning}");
            let stroke = css(&document, &selector("arrow"), "stroke");
            assert_eq!(stroke, css(&document, &selector("slot"), "fill"), "#{n}");
            assert_eq!(stroke == palette::RED, meaning == "lost", "#{n}");
        }
    }
}

#[test]
fn colours_and_fonts_are_set_only_by_the_style_sheet() {
    for text in [TWO, FAULT] {
        let markup = picture(text);
        let document = Document::parse(&markup).unwrap();
        for node in document.descendants().filter(|n| n.is_element()) {
            for attribute in node.attributes() {
                assert!(
                    ![
                        "style",
                        "fill",
                        "stroke",
                        "stroke-width",
                        "stroke-dasharray",
                        "font-size",
                        "font-family",
                        "font-weight",
                        "text-anchor",
                        "marker-end",
                    ]
                    .contains(&attribute.name()),
                    "<{}> has {}",
                    node.tag_name().name(),
                    attribute.name()
                );
            }
        }
        let body = &markup[markup.find("</style>").unwrap()..];
        for colour in palette::ROUTINES
            .iter()
            .chain(&[palette::RED, palette::INK])
        {
            assert!(!body.contains(colour), "{colour} outside the style sheet");
        }
    }
}

#[test]
fn main_s_stack_is_charted_over_its_used_top_and_says_its_full_size() {
    let markup = picture(TWO);
    let document = Document::parse(&markup).unwrap();
    let stacks = with_class(&document, "stack");
    let main = texts(stacks[0]);
    let deepest = Timeline::parse(TWO)
        .unwrap()
        .depths
        .iter()
        .filter(|s| s.stack_of == 0)
        .map(|s| s.depth)
        .max()
        .unwrap();
    let span = chart_span(65536, deepest);
    assert!(span < 65536 && span > deepest, "{span} for {deepest}");
    assert!(
        main.contains(&&*format!("65536 B, top {span} B shown")),
        "{main:?}"
    );
    assert!(main.contains(&&*format!("{span} B")), "{main:?}");
    // A coroutine's stack, used to nearly half, is charted whole.
    assert!(
        main.contains(&&*format!("deepest seen: {deepest} B")),
        "{main:?}"
    );
    let c1 = texts(stacks[1]);
    assert!(c1.contains(&"4096 bytes"), "{c1:?}");
    assert!(c1.contains(&"4096 B"), "{c1:?}");
    // main's deepest bar is most of the chart, not a sliver.
    let bars: Vec<f64> = stacks[0]
        .children()
        .filter(|n| classes(n).contains(&"depth"))
        .map(|n| n.attribute("height").unwrap().parse().unwrap())
        .collect();
    let tallest = bars.iter().copied().fold(0.0, f64::max);
    assert!(tallest > 0.5 * 60.0, "{bars:?}");
}

#[test]
fn the_chart_span_zooms_only_on_a_stack_used_near_its_top() {
    assert_eq!(chart_span(65536, 1376), 2048);
    assert_eq!(chart_span(65536, 0), 256);
    assert_eq!(chart_span(4096, 1968), 4096);
    assert_eq!(chart_span(4096, 616), 4096);
    assert_eq!(chart_span(4096, 200), 256);
    // A stack smaller than 256 bytes (from event lines nobody checked) is
    // drawn whole.
    assert_eq!(chart_span(100, 1), 100);
    assert_eq!(chart_span(4096, 4096), 4096);
}

#[test]
fn the_legend_shows_the_lanes_colours_and_only_the_marks_drawn() {
    let markup = picture(TWO);
    let document = Document::parse(&markup).unwrap();
    let legend = with_class(&document, "legend")[0];
    let first_lanes: Vec<&str> = with_class(&document, "lane")
        .iter()
        .take(3)
        .map(|lane| {
            let bar = lane
                .children()
                .find(|n| classes(n).contains(&"run"))
                .unwrap();
            classes(&bar)[1]
        })
        .collect();
    let runs_swatch: Vec<&str> = legend
        .children()
        .take_while(|n| !n.has_tag_name("text"))
        .filter_map(|n| n.attribute("class"))
        .collect();
    assert_eq!(runs_swatch, first_lanes);
    assert_eq!(first_lanes[0], "r0", "main's colour first");
    let arrows: Vec<&str> = legend
        .descendants()
        .filter(|n| classes(n).first() == Some(&"arrow"))
        .map(|n| classes(&n)[1])
        .collect();
    assert_eq!(arrows, ["saved", "lost", "emptied"]);
    let texts: Vec<&str> = legend.children().filter_map(|n| n.text()).collect();
    assert!(
        texts.contains(&"return: the leaving RSP saved nowhere (the original's flaw)"),
        "{texts:?}"
    );
    assert!(!texts.iter().any(|t| t.starts_with("fault")), "{texts:?}");
    // round_robin has no return, so its legend has no flaw arrow.
    let markup = picture(&round_robin(3, 2));
    let document = Document::parse(&markup).unwrap();
    let legend = with_class(&document, "legend")[0];
    let arrows: Vec<&str> = legend
        .descendants()
        .filter(|n| classes(n).first() == Some(&"arrow"))
        .map(|n| classes(&n)[1])
        .collect();
    assert_eq!(arrows, ["saved", "emptied"]);
}

#[test]
fn a_cut_last_line_is_said_under_the_title() {
    let cut = &TWO[..TWO.find("kind=resume").unwrap() + 8];
    let markup = picture(cut);
    assert!(markup.contains("The last event line was cut short"));
    assert!(markup.contains("4 switches, ended: the event lines stop here"));
    // main's `leave` for switch 5 was written whole before the cut: the
    // picture says the switch started and never arrived, and main's
    // last bar ends in the middle of it.
    let timeline = Timeline::parse(cut).unwrap();
    let left = timeline.unfinished_switch().unwrap();
    assert_eq!((left.n, left.from), (5, 0));
    let document = Document::parse(&markup).unwrap();
    let said = format!(
        "Switch #5 never arrived: main left for it at RSP {:#018x}, and no switch line followed.",
        left.rsp
    );
    assert!(texts(document.root()).contains(&said.as_str()), "{said}");
    let last_bar = document
        .descendants()
        .filter(|n| n.has_tag_name("title"))
        .filter_map(|n| n.text())
        .rfind(|t| t.starts_with("main runs from"))
        .unwrap();
    assert_eq!(
        last_bar,
        format!(
            "main runs from #4 return to the end, in the middle of switch #5, leaving at RSP {:#018x}",
            left.rsp
        )
    );
}

#[test]
fn wrapping_keeps_lines_short_and_words_whole() {
    let lines = wrap("one two three four five", 9);
    assert_eq!(lines, ["one two", "three", "four five"]);
}
