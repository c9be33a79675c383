use super::*;

/// A minimal valid file for the persona `name`.
fn minimal(name: &str) -> String {
    format!("name = '{name}'\ndescription = 'Uma persona'\nsystem = 'Você é {name}.'\n")
}

/// A file with every key.
const FULL: &str = "name = ' Vendedora '
description = ' Vendedora simpática '
system = '''
  Você é a Ana, vendedora da loja.
'''
temperature = 0.7
language = 'português do Brasil'
forbidden = [' política ', 'religião']
signature = '— Loja da Ana'
";

/// Loads a folder holding `files` (name, text); errors show the folder as `{dir}`.
fn load(files: &[(&str, &str)]) -> Result<Personas, String> {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    let shown = dir.path().display().to_string();
    Personas::load(dir.path()).map_err(|err| err.to_string().replace(&shown, "{dir}"))
}

/// The error for one file `a.toml`, without the `{dir}/a.toml` prefix.
fn error(text: &str) -> String {
    let err = load(&[("a.toml", text)]).unwrap_err();
    err.strip_prefix("{dir}/a.toml").unwrap_or(&err).to_owned()
}

/// `minimal("x")` with `line` added at the end (line 4).
fn with(line: &str) -> String {
    format!("{}{line}\n", minimal("x"))
}

/// Personas `vendedora` and `suporte`.
fn two() -> Personas {
    load(&[
        ("a.toml", &minimal("vendedora")),
        ("b.toml", &minimal("suporte")),
    ])
    .unwrap()
}

fn shipped_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("commands")
}

fn names(personas: &Personas) -> Vec<&str> {
    personas.list().iter().map(|p| p.name.as_str()).collect()
}

#[test]
fn a_full_file_is_read_and_normalized() {
    let personas = load(&[("v.toml", FULL)]).unwrap();
    let expected = Persona {
        name: "vendedora".to_owned(),
        description: "Vendedora simpática".to_owned(),
        system: "Você é a Ana, vendedora da loja.".to_owned(),
        temperature: Some(0.7),
        language: Some("português do Brasil".to_owned()),
        forbidden: vec!["política".to_owned(), "religião".to_owned()],
        signature: Some("— Loja da Ana".to_owned()),
    };
    assert_eq!(personas.list(), [expected]);
}

#[test]
fn optional_keys_may_be_left_out() {
    let personas = load(&[("x.toml", &minimal("x"))]).unwrap();
    let persona = &personas.list()[0];
    assert_eq!(persona.temperature, None);
    assert_eq!(
        (persona.language.as_ref(), persona.signature.as_ref()),
        (None, None)
    );
    assert!(persona.forbidden.is_empty());
    let int = load(&[("x.toml", &with("temperature = 1"))]).unwrap();
    assert_eq!(int.list()[0].temperature, Some(1.0));
}

#[test]
fn a_missing_folder_is_empty_and_files_load_in_name_order() {
    let dir = tempfile::tempdir().unwrap();
    let none = Personas::load(&dir.path().join("nada")).unwrap();
    assert!(none.list().is_empty());
    let (beta, alfa) = (minimal("beta"), minimal("alfa"));
    let files = [("b.toml", beta.as_str()), ("a.toml", &alfa), ("c.txt", "x")];
    assert_eq!(names(&load(&files).unwrap()), ["alfa", "beta"]);
    assert!(Personas::empty().list().is_empty());
}

#[test]
fn a_folder_that_is_a_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("personas");
    std::fs::write(&file, "").unwrap();
    let err = Personas::load(&file).unwrap_err().to_string();
    let start = format!("não consegui ler a pasta de personas {}: ", file.display());
    assert!(err.starts_with(&start), "{err}");
}

#[test]
fn the_shipped_personas_load() {
    let personas = Personas::load(&shipped_dir().join("personas")).unwrap();
    assert_eq!(names(&personas), ["padrao", "suporte", "vendedora"]);
    for persona in personas.list() {
        assert!(persona.system.starts_with("Você "), "{}", persona.name);
        assert!(!persona.system.contains("  "), "{}", persona.name);
        assert_eq!(persona.language.as_deref(), Some("português do Brasil"));
    }
    assert_eq!(personas.default_persona().temperature, Some(0.5));
    assert_eq!(personas.default_persona().system, DEFAULT_SYSTEM);
}

#[test]
fn the_catalog_loads_the_personas_folder() {
    use crate::client::catalog::Catalog;
    let catalog = Catalog::load(&shipped_dir()).unwrap();
    assert!(catalog.personas().get("vendedora").is_some());
    assert!(Catalog::empty().personas().list().is_empty());

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("personas")).unwrap();
    std::fs::write(dir.path().join("personas/x.toml"), with("idade = 3")).unwrap();
    let err = Catalog::load(dir.path()).unwrap_err().to_string();
    assert!(
        err.ends_with(
            "x.toml, linha 4: idade: chave desconhecida; permitidas: name, \
         description, system, temperature, language, forbidden, signature"
        ),
        "{err}"
    );
}

#[test]
fn unknown_keys_and_wrong_types_name_the_line() {
    assert_eq!(
        error(&with("nome = 'x'")),
        ", linha 4: nome: chave desconhecida; permitidas: name, description, system, \
         temperature, language, forbidden, signature"
    );
    assert_eq!(
        error(&with("[extra]\na = 1")),
        ", linha 4: extra: chave desconhecida; permitidas: name, description, system, \
         temperature, language, forbidden, signature"
    );
    assert_eq!(
        error(&with("temperature = 'alta'")),
        ", linha 4: temperature: tipo errado (string \"alta\"); esperado um número de 0.0 \
         a 2.0, ex.: temperature = 0.7"
    );
    assert_eq!(
        error(&with("forbidden = 'política'")),
        ", linha 4: forbidden: tipo errado (string \"política\"); esperado uma lista de \
         textos, ex.: forbidden = [\"política\"]"
    );
    assert_eq!(
        error("name = 'x'\ndescription = 3\n"),
        ", linha 2: description: tipo errado (integer `3`); esperado um texto entre aspas"
    );
    assert_eq!(
        error("name = 'x'\nname = 'y'\n"),
        ", linha 2: name: chave repetida; escreva cada chave uma só vez"
    );
    let unquoted = error("name = x\n");
    assert!(unquoted.starts_with(", linha 1: name: "), "{unquoted}");
}

#[test]
fn missing_required_keys_get_an_example() {
    assert_eq!(
        error("description = 'd'\nsystem = 's'\n"),
        ": name: obrigatória e ausente; ex.: name = \"vendedora\""
    );
    assert_eq!(
        error("name = 'x'\nsystem = 's'\n"),
        ": description: obrigatória e ausente; ex.: description = \"Vendedora simpática\""
    );
    assert_eq!(
        error("name = 'x'\ndescription = 'd'\n"),
        ": system: obrigatória e ausente; ex.: system = \"Você é a Ana, vendedora da \
         loja...\""
    );
}

#[test]
fn bad_names_are_refused_on_their_line() {
    let name = |name: &str| error(&format!("# c\nname = '{name}'\ndescription = 'd'\n"));
    assert_eq!(
        name("ven dedora"),
        ", linha 2: name: nome inválido \"ven dedora\"; use até 32 letras minúsculas sem \
         acento, números, '-' ou '_', começando por letra ou número, \
         ex.: name = \"vendedora\""
    );
    for bad in ["vendedóra", "-x", "", &"a".repeat(33)] {
        assert!(name(bad).contains("nome inválido"), "{bad}");
    }
    for reserved in ["texto", "DEFAULT"] {
        assert_eq!(
            name(reserved),
            format!(
                ", linha 2: name: \"{}\" é reservado (padrao e texto livre); escolha \
                 outro nome",
                reserved.to_lowercase()
            )
        );
    }
}

#[test]
fn bad_descriptions_and_systems() {
    let description = |value: &str| {
        error(&format!(
            "name = 'x'\nsystem = 's'\ndescription = \"{value}\"\n"
        ))
    };
    let tail = "; descreva a persona em uma linha, ex.: description = \"Vendedora simpática\"";
    assert_eq!(
        description(" "),
        format!(", linha 3: description: vazia{tail}")
    );
    assert_eq!(
        description("a\\nb"),
        format!(", linha 3: description: use uma linha só{tail}")
    );
    assert_eq!(
        description(&"d".repeat(101)),
        format!(", linha 3: description: longa demais (101 caracteres); use até 100{tail}")
    );

    let system = |value: &str| {
        error(&format!(
            "name = 'x'\ndescription = 'd'\nsystem = '{value}'"
        ))
    };
    assert_eq!(
        system("  "),
        ", linha 3: system: vazia; escreva como a persona fala, ex.: system = \"Você é a \
         Ana, vendedora da loja...\""
    );
    assert_eq!(
        system(&"é".repeat(4001)),
        ", linha 3: system: longa demais (4001 caracteres); use até 4000"
    );
    let long = format!(
        "name = 'x'\ndescription = 'd'\nsystem = '{}'",
        "é".repeat(4000)
    );
    assert_eq!(
        load(&[("a.toml", &long)]).unwrap().list()[0]
            .system
            .chars()
            .count(),
        4000
    );
}

#[test]
fn bad_optional_values() {
    assert_eq!(
        error(&with("temperature = 2.5")),
        ", linha 4: temperature: fora do intervalo (2.5); use de 0.0 a 2.0, \
         ex.: temperature = 0.7"
    );
    assert!(error(&with("temperature = -0.1")).contains("fora do intervalo (-0.1)"));
    assert!(error(&with("temperature = nan")).contains("fora do intervalo (NaN)"));
    assert_eq!(
        error(&with("language = ''")),
        ", linha 4: language: idioma inválido \"\"; escreva o nome do idioma em uma linha, \
         até 40 caracteres, ex.: language = \"português do Brasil\""
    );
    assert_eq!(
        error(&with("forbidden = ['política',\n  '']")),
        ", linha 5: forbidden: assunto inválido \"\"; escreva cada assunto em uma linha, \
         até 80 caracteres, ex.: forbidden = [\"política\"]"
    );
    let many = format!("forbidden = [{}]", vec!["'a'"; 21].join(", "));
    assert_eq!(
        error(&with(&many)),
        ", linha 4: forbidden: assuntos demais (21); use até 20"
    );
    assert_eq!(
        error(&with("signature = ' '")),
        ", linha 4: signature: vazia; apague a chave ou escreva a assinatura, \
         ex.: signature = \"— Loja da Ana\""
    );
    assert_eq!(
        error(&with(&format!("signature = '{}'", "—".repeat(201)))),
        ", linha 4: signature: longa demais (201 caracteres); use até 200"
    );
    let ok = load(&[(
        "a.toml",
        &with(&format!("signature = '{}'", "—".repeat(200))),
    )]);
    assert!(ok.is_ok());
}

#[test]
fn a_name_repeated_in_another_file_names_both_files() {
    let other = format!("\n{}", minimal("VENDEDORA"));
    let err = load(&[("a.toml", &minimal("vendedora")), ("b.toml", &other)]).unwrap_err();
    assert_eq!(
        err,
        "{dir}/b.toml, linha 2: name: \"vendedora\" já é o nome da persona de \
         {dir}/a.toml; use outro"
    );
}

#[test]
fn personas_are_found_ignoring_case_accents_and_spaces() {
    let personas = load(&[("a.toml", &minimal("promocao"))]).unwrap();
    for name in [
        "promocao",
        "PROMOÇÃO",
        " Promoção ",
        "promoc\u{327}a\u{303}o",
    ] {
        assert_eq!(personas.get(name).unwrap().name, "promocao", "{name}");
    }
    assert!(personas.get("promo").is_none());
}

#[test]
fn the_default_is_the_padrao_file_or_the_built_in_one() {
    let built_in = Personas::empty().default_persona();
    assert_eq!(built_in.name, "padrao");
    assert_eq!(built_in.system, DEFAULT_SYSTEM);
    assert_eq!((built_in.temperature, built_in.signature), (None, None));
    let personas = load(&[("p.toml", &minimal("padrao"))]).unwrap();
    assert_eq!(personas.default_persona().system, "Você é padrao.");
}

#[test]
fn choose_default_names_and_texts() {
    let personas = two();
    for word in ["padrao", " Padrão ", "PADRAO", "default", "Default\u{200B}"] {
        assert_eq!(
            personas.choose(word).unwrap(),
            PersonaChoice::Default,
            "{word}"
        );
    }
    for word in ["vendedora", "VENDEDORA", " Vendedóra "] {
        let chosen = personas.choose(word).unwrap();
        assert_eq!(
            chosen,
            PersonaChoice::Named("vendedora".to_owned()),
            "{word}"
        );
    }
    let text = "  Você é o Zé,\n  dono   da padaria.  ";
    assert_eq!(
        personas.choose(text).unwrap(),
        PersonaChoice::Text("Você é o Zé,\n  dono   da padaria.".to_owned())
    );
}

#[test]
fn choose_refuses_unknown_words_with_a_hint() {
    let personas = two();
    assert_eq!(
        personas.choose("vendedor").unwrap_err().to_string(),
        "persona \"vendedor\" não existe; você quis dizer \"vendedora\"? disponíveis: \
         padrao, vendedora, suporte (ou escreva um texto com a descrição)"
    );
    assert_eq!(
        personas.choose("palhaço").unwrap_err().to_string(),
        "persona \"palhaço\" não existe; disponíveis: padrao, vendedora, suporte \
         (ou escreva um texto com a descrição)"
    );
    assert_eq!(
        Personas::empty().choose("x").unwrap_err().to_string(),
        "persona \"x\" não existe; disponíveis: padrao (ou escreva um texto com a descrição)"
    );
    let with_padrao = load(&[("a.toml", &minimal("padrao"))]).unwrap();
    let err = with_padrao.choose("outra").unwrap_err().to_string();
    assert!(err.contains("disponíveis: padrao (ou"), "{err}");
}

#[test]
fn choose_refuses_empty_short_and_long_texts() {
    let personas = two();
    assert_eq!(
        personas.choose(" \u{200B} ").unwrap_err().to_string(),
        "diga qual persona usar: o nome de uma (padrao, vendedora, suporte), padrao, ou um \
         texto com a descrição"
    );
    let short = "texto curto demais para uma persona; escreva ao menos 2 palavras e 10 \
                 letras, ex.: Você é a Ana, vendedora simpática e direta";
    for text in ["seja boa", "a  b  c"] {
        assert_eq!(
            personas.choose(text).unwrap_err().to_string(),
            short,
            "{text}"
        );
    }
    assert!(personas.choose("seja boa!!").is_ok());
    let limit = format!("a {}", "é".repeat(TEXT_CHARS - 2));
    assert!(personas.choose(&limit).is_ok());
    assert_eq!(
        personas
            .choose(&format!("{limit}é"))
            .unwrap_err()
            .to_string(),
        "texto longo demais (2001 caracteres); use até 2000"
    );
}

#[test]
fn choices_are_stored_and_described() {
    let personas = load(&[("a.toml", FULL)]).unwrap();
    let named = PersonaChoice::Named("vendedora".to_owned());
    assert_eq!(named.stored().as_deref(), Some("vendedora"));
    assert_eq!(named.describe(&personas), "vendedora (Vendedora simpática)");
    assert_eq!(PersonaChoice::Default.stored(), None);
    let default = PersonaChoice::Default.describe(&personas);
    assert!(default.starts_with("padrao ("), "{default}");
    let gone = PersonaChoice::Named("antiga".to_owned());
    assert_eq!(gone.describe(&personas), "antiga");

    let text = PersonaChoice::Text("Você é   o Zé,\ndono da padaria".to_owned());
    assert_eq!(
        text.stored().as_deref(),
        Some("Você é   o Zé,\ndono da padaria")
    );
    assert_eq!(
        text.describe(&personas),
        "texto livre: “Você é o Zé, dono da padaria”"
    );
    let long = PersonaChoice::Text(format!("{} fim", "😀".repeat(59)));
    let shown = format!("texto livre: “{} …”", "😀".repeat(59));
    assert_eq!(long.describe(&personas), shown);
}

#[test]
fn resolve_turns_a_stored_value_into_a_persona() {
    let personas = two();
    assert_eq!(personas.resolve(None).name, "padrao");
    assert_eq!(personas.resolve(Some(" ")).name, "padrao");
    assert_eq!(personas.resolve(Some("Suporte")).name, "suporte");
    assert_eq!(personas.resolve(Some("antiga")), personas.default_persona());
    assert_eq!(personas.resolve(Some("padrão")).name, "padrao");
    let text = personas.resolve(Some(" Você é o Zé. "));
    assert_eq!(
        text,
        Persona {
            name: "texto".to_owned(),
            description: "texto livre".to_owned(),
            system: "Você é o Zé.".to_owned(),
            temperature: None,
            language: None,
            forbidden: Vec::new(),
            signature: None,
        }
    );
    assert_eq!(text.describe(), "texto livre: “Você é o Zé.”");
}

#[test]
fn the_system_prompt_of_a_full_persona() {
    let personas = load(&[("a.toml", FULL)]).unwrap();
    let persona = personas.get("vendedora").unwrap();
    assert_eq!(
        system_prompt(persona, "loja-da-ana"),
        "Você é a Ana, vendedora da loja.\n\n\
         Você responde pelo WhatsApp de loja-da-ana.\n\n\
         Responda sempre em português do Brasil.\n\n\
         Não fale sobre: política, religião. Se perguntarem, diga com educação que não \
         pode ajudar com esse assunto.\n\n\
         Respostas curtas, em texto simples, próprias para o WhatsApp."
    );
}

#[test]
fn the_system_prompt_of_a_minimal_persona() {
    let persona = Personas::empty().resolve(Some("Você é o Zé."));
    assert_eq!(
        system_prompt(&persona, "padaria"),
        "Você é o Zé.\n\n\
         Você responde pelo WhatsApp de padaria.\n\n\
         Respostas curtas, em texto simples, próprias para o WhatsApp."
    );
}
